import { WebhookVerificationError } from './errors.js';

/**
 * Request headers as frameworks hand them over: Node's `IncomingHttpHeaders` (or any plain
 * object, in any letter case) or a Fetch `Headers`.
 */
export type WebhookHeaders =
  | { get(name: string): string | null }
  | Readonly<Record<string, string | readonly string[] | undefined>>;

/** The `mr-*` signature headers. */
export const MR_HEADERS = ['mr-signature', 'mr-timestamp'] as const;
/** The Standard Webhooks headers. */
export const STANDARD_HEADERS = ['webhook-id', 'webhook-timestamp', 'webhook-signature'] as const;

export type SignatureHeaderName = (typeof MR_HEADERS)[number] | (typeof STANDARD_HEADERS)[number];

/** The signature headers that were sent (trimmed, non-empty), read once. */
export type SignatureHeaders = Partial<Record<SignatureHeaderName, string>>;

/** Reads the signature headers from either header shape; a repeated single-valued header is `invalid_header`. */
export function readSignatureHeaders(headers: WebhookHeaders): SignatureHeaders {
  if (!headers || typeof headers !== 'object') {
    throw new WebhookVerificationError('missing_header', 'No headers given.');
  }
  const get = headerGetter(headers);
  const out: SignatureHeaders = {};
  for (const name of [...MR_HEADERS, ...STANDARD_HEADERS]) {
    const raw = get(name);
    if (raw === undefined) continue;
    let value: string;
    if (typeof raw === 'string') value = raw;
    // A signature list may arrive split over repeated headers; any other header must be single.
    else if (name.endsWith('signature')) value = raw.join(' ');
    else if (raw.length === 1) value = raw[0] as string;
    else throw new WebhookVerificationError('invalid_header', `${name} sent ${raw.length} times.`);
    value = value.trim();
    if (value) out[name] = value;
  }
  return out;
}

function headerGetter(headers: WebhookHeaders): (name: string) => string | readonly string[] | undefined {
  if (typeof headers.get === 'function') {
    const h = headers as { get(name: string): string | null };
    return (name) => h.get(name) ?? undefined;
  }
  const record = headers as Readonly<Record<string, string | readonly string[] | undefined>>;
  let lowered: Map<string, string | readonly string[] | undefined> | undefined;
  return (name) => {
    // Node lowercases header names, so the direct hit is the common case; the map is for hand-built objects.
    const direct = record[name];
    if (direct !== undefined) return direct;
    if (!lowered) {
      lowered = new Map();
      for (const k of Object.keys(record)) lowered.set(k.toLowerCase(), record[k]);
    }
    return lowered.get(name);
  };
}
