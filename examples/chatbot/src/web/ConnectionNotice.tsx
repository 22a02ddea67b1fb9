/** "reconnecting…" while the link to the gateway is down and the client is getting it back. */
import { useModelRiver } from '@modelriver/react';

export function ConnectionNotice() {
  const reconnecting = useModelRiver({}, (s) => s.connectionState === 'reconnecting');
  return (
    <p className="connection" role="status" data-testid="connection">
      {reconnecting ? 'reconnecting…' : ''}
    </p>
  );
}
