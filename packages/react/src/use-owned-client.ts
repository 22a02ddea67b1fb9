/**
 * The client a hook works with: the provider's, else one of its own. None during server
 * rendering (`window` is undefined): the hooks then render the initial state and touch no
 * storage, socket or timer.
 */
import { useEffect, useRef, useState } from 'react';
import type { ModelRiverClientOptions } from '@modelriver/client';
import { createOwnedClient } from './owned-client.js';
import type { OwnedClient } from './owned-client.js';

const inBrowser = (): boolean => typeof window !== 'undefined';

/**
 * @internal `shared` wins; otherwise a client is created on the first browser render and
 * attached while the component is mounted. A component remounted after its client closed
 * (React keeps state across `<Activity>` hiding) gets a new one.
 */
export function useOwnedClient(shared: OwnedClient | null, options: ModelRiverClientOptions, autoResume: boolean): OwnedClient | null {
  const [own, setOwn] = useState<OwnedClient | null>(() => (shared === null && inBrowser() ? createOwnedClient(options, autoResume) : null));
  const latest = useRef({ options, autoResume });
  latest.current = { options, autoResume };
  useEffect(() => {
    if (shared !== null) return undefined;
    if (own === null || own.closed) {
      setOwn(createOwnedClient(latest.current.options, latest.current.autoResume));
      return undefined;
    }
    return own.attach();
  }, [shared, own]);
  return shared ?? own;
}
