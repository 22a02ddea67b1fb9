/**
 * Byte/text helpers that work everywhere (no `Buffer`), kept tiny for the webhooks bundle.
 */

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * Decodes the Standard Webhooks key: base64 of what follows `whsec_`.
 * Returns null when the secret is not a string, not valid base64, or decodes to nothing.
 *
 * @example
 * ```ts
 * standardWebhooksKey('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw')?.length; // 24
 * ```
 */
export function standardWebhooksKey(secret: string): Uint8Array | null {
  if (typeof secret !== 'string') return null;
  const b64 = secret.startsWith('whsec_') ? secret.slice(6) : secret;
  if (!b64 || !BASE64.test(b64)) return null;
  let bin: string;
  try {
    bin = atob(b64);
  } catch {
    return null;
  }
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out.length ? out : null;
}

/** Lowercase hex of bytes. */
export function toHex(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += (b < 16 ? '0' : '') + b.toString(16);
  return s;
}

/** Standard (padded) base64 of bytes. */
export function toBase64(bytes: Uint8Array): string {
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin);
}

/**
 * Compares two ASCII signature strings in time that depends only on their lengths, so a
 * forger learns nothing from how long a mismatch took. Comparing the encoded strings
 * (rather than decoded bytes) also rejects non-canonical encodings of a right digest.
 */
export function safeEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}
