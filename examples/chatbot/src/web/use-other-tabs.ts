/**
 * Two tabs on one conversation: localStorage is shared, and a `storage` event tells this tab
 * that another one changed the history (a new message, an answer that started or ended). The
 * returned number changes then; the app remounts its provider with it, which reads the history
 * again and resumes the answer that is streaming (with a fresh token from the backend).
 */
import { useEffect, useState } from 'react';

/**
 * A counter bumped when another tab writes `key`.
 *
 * @example
 * ```tsx
 * const version = useOtherTabsVersion(historyKey(id));
 * return <ModelRiverProvider key={version} …>;
 * ```
 */
export function useOtherTabsVersion(key: string): number {
  const [version, setVersion] = useState(0);
  useEffect(() => {
    const onStorage = (event: StorageEvent): void => {
      if (event.key === key && event.newValue !== event.oldValue) setVersion((v) => v + 1);
    };
    window.addEventListener('storage', onStorage);
    return () => window.removeEventListener('storage', onStorage);
  }, [key]);
  return version;
}
