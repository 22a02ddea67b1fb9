/** A benchmark child process's side of the IPC link to the orchestrator that spawned it (see child.ts). */

/**
 * Answers the orchestrator's requests: `answer` returns the reply to send, or undefined for none.
 * A request that throws ends the process with code 1 (the orchestrator's pending request then
 * fails with the exit); losing the orchestrator ends it with code 0.
 *
 * @example
 * ```ts
 * serveParent<NodeRequest, NodeReply>(async (request) => {
 *   if (request.type === 'memory') return { type: 'memory', ...(await memory()) };
 *   return undefined;
 * });
 * ```
 */
export function serveParent<Request, Reply>(answer: (request: Request) => Promise<Reply | undefined> | Reply | undefined): void {
  process.on('message', (raw) => {
    void (async () => {
      const reply = await answer(raw as Request);
      if (reply !== undefined) process.send?.(reply);
    })().catch((error: unknown) => {
      console.error(error);
      process.exit(1);
    });
  });
  process.on('disconnect', () => process.exit(0));
}
