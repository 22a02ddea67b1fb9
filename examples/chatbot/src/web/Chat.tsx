/**
 * The conversation: `useModelRiverChat` holds the messages and streams each answer; this renders
 * them, the workflow picker, the composer (Enter sends, Shift+Enter is a new line) and Stop.
 */
import { useRef, useState, type FormEvent, type KeyboardEvent } from 'react';
import { useModelRiverChat } from '@modelriver/react';
import { startChat } from './api.js';
import { ConnectionNotice } from './ConnectionNotice.js';
import { Reply } from './Reply.js';
import { StatusLine } from './StatusLine.js';
import { WORKFLOW_CHOICES, type WorkflowName } from './workflows.js';

export function Chat({ conversationId }: { conversationId: string }) {
  const [workflow, setWorkflow] = useState<WorkflowName>('chat');
  const [draft, setDraft] = useState('');
  // The latest choice, read when the request starts (a queued send uses the picker as it is then).
  const workflowRef = useRef(workflow);
  workflowRef.current = workflow;
  const { messages, send, stop, retry, status, error } = useModelRiverChat({
    start: (history) => startChat(workflowRef.current, conversationId, history),
  });
  const busy = status === 'starting' || status === 'streaming';

  const submit = (event?: FormEvent): void => {
    event?.preventDefault();
    const text = draft.trim();
    if (text === '') return;
    setDraft('');
    void send(text).catch(() => undefined);
  };
  const onKeyDown = (event: KeyboardEvent<HTMLTextAreaElement>): void => {
    if (event.key === 'Enter' && !event.shiftKey && !event.nativeEvent.isComposing) submit(event);
  };

  return (
    <section className="chat" aria-label="Conversation">
      <ol className="messages">
        {messages.length === 0 && <li className="empty">Ask anything. The mock model answers every workflow without keys.</li>}
        {messages.map((m) =>
          m.role === 'user' ? (
            <li key={m.id} className="message user" data-testid="message" data-role="user">
              <p>{m.content}</p>
            </li>
          ) : (
            <Reply key={m.id} message={m} conversationId={conversationId} />
          ),
        )}
      </ol>
      <ConnectionNotice />
      <StatusLine />
      {error && (
        <p className="error" role="alert">
          {error.message} <button type="button" onClick={() => void retry()}>Retry</button>
        </p>
      )}
      <form className="composer" onSubmit={submit}>
        <label className="picker">
          <span>Workflow</span>
          <select value={workflow} onChange={(e) => setWorkflow(e.target.value as WorkflowName)}>
            {WORKFLOW_CHOICES.map((w) => (
              <option key={w.name} value={w.name}>
                {w.label}
              </option>
            ))}
          </select>
        </label>
        <textarea
          aria-label="Message"
          placeholder="Type a message"
          rows={2}
          value={draft}
          onChange={(e) => setDraft(e.target.value)}
          onKeyDown={onKeyDown}
        />
        <div className="actions">
          <button type="submit" disabled={draft.trim() === ''}>Send</button>
          {busy && (
            <button type="button" className="stop" onClick={() => void stop()}>
              Stop
            </button>
          )}
        </div>
      </form>
    </section>
  );
}
