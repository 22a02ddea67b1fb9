/** Bearer-key authentication, compared in constant time. */
import { createHash, timingSafeEqual } from 'node:crypto';

const digest = (value: string): Buffer => createHash('sha256').update(value, 'utf8').digest();

/**
 * Returns a checker that maps an `Authorization` header to the matching key, or null.
 * Hashing first gives equal-length buffers, so timingSafeEqual never leaks the key's length.
 *
 * @example
 * ```ts
 * const authenticate = createAuthenticator(['mr_test_local']);
 * authenticate('Bearer mr_test_local'); // 'mr_test_local'
 * ```
 */
export function createAuthenticator(keys: readonly string[]): (header: string | undefined) => string | null {
  const known = keys.map((key) => ({ key, hash: digest(key) }));
  return (header) => {
    if (!header) return null;
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match) return null;
    const presented = digest(match[1] as string);
    let found: string | null = null;
    for (const candidate of known) {
      if (timingSafeEqual(candidate.hash, presented)) found = candidate.key;
    }
    return found;
  };
}
