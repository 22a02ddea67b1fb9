/**
 * A finished answer's request log, fetched through the backend once the answer has ended (and
 * again on demand: webhook deliveries land after the answer does).
 */
import { useCallback, useEffect, useState } from 'react';
import type { RequestLog } from '@modelriver/node';
import { fetchRequestLog } from './api.js';

/**
 * `[log, refresh]`: null until loaded, or while the answer is still streaming.
 *
 * @example
 * ```ts
 * const [log, refresh] = useRequestLog(message.channelId, finished);
 * ```
 */
export function useRequestLog(channelId: string | null | undefined, finished: boolean): [RequestLog | null, () => void] {
  const [log, setLog] = useState<RequestLog | null>(null);
  const [asked, setAsked] = useState(0);
  useEffect(() => {
    if (!finished || !channelId) return undefined;
    let live = true;
    fetchRequestLog(channelId).then(
      (fetched) => live && setLog(fetched),
      () => undefined, // gone (the gateway restarted, or the log expired): the reply shows what it has
    );
    return () => {
      live = false;
    };
  }, [channelId, finished, asked]);
  const refresh = useCallback(() => setAsked((n) => n + 1), []);
  return [log, refresh];
}
