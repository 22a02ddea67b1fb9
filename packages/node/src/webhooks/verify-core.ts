/**
 * Everything about verification except the HMAC itself, shared by the `node:crypto` and the
 * WebCrypto paths: option checks, header parsing, scheme choice, the timestamp window, and
 * turning a match (or none) into the result or the error.
 */
import type { WebhookEvent } from '../wire.js';
import { parseEvent, rawBody, reserialisedHint, type WebhookBody } from './body.js';
import { safeEqual, standardWebhooksKey } from './encoding.js';
import { WebhookVerificationError } from './errors.js';
import { MR_HEADERS, STANDARD_HEADERS, readSignatureHeaders, type SignatureHeaderName, type WebhookHeaders } from './headers.js';

/** One secret, or several while rotating (the first is usually the newest). */
export type WebhookSecretOptions =
  | { secret: string; secrets?: undefined }
  | { secrets: readonly string[]; secret?: undefined };

/** Everything {@link VerifyWebhookOptions} holds besides the secret(s). */
export interface WebhookDelivery {
  /** The raw body exactly as received (text or bytes), never a parsed object. */
  body: WebhookBody;
  /** Request headers: a plain object in any letter case, or a Fetch `Headers`. */
  headers: WebhookHeaders;
  /** Largest accepted distance between the signed timestamp and now, both ways. Default 300. */
  toleranceSec?: number;
  /** Clock in epoch ms. Default `Date.now`. */
  now?: () => number;
}

/** Options of {@link verifyWebhook} and {@link verifyWebhookAsync}. */
export type VerifyWebhookOptions = WebhookSecretOptions & WebhookDelivery;

/** Which header set a delivery was verified with. */
export type WebhookScheme = 'mr' | 'standard';

/** A signature that checked out, whatever the payload. */
export interface VerifiedSignature {
  /** `standard` (webhook-* headers, preferred when present) or `mr` (mr-* headers). */
  scheme: WebhookScheme;
  /** Index into `secrets` of the secret that matched (0 with a single `secret`). Not the secret itself, so results are safe to log. */
  matchedSecretIndex: number;
  /** The signed Unix timestamp, in seconds. */
  timestamp: number;
}

/** A verified delivery. */
export interface VerifiedWebhook extends VerifiedSignature {
  /** The typed event: a union on `type`. */
  event: WebhookEvent;
  /** The delivery id (the body's `id`, kept across retries): the key for deduplication. */
  webhookId: string;
}

/** What remains once the headers are understood: compute HMAC(key, prefix + body) per key and compare. */
export interface VerificationPlan {
  body: string | Uint8Array;
  scheme: WebhookScheme;
  /** `{ts}.` or `{id}.{ts}.`: what precedes the body in the signed message. */
  prefix: string;
  /** Key per usable secret: the secret string (mr) or its decoded bytes (standard); `index` into the secrets. */
  keys: Array<PlannedKey>;
  encoding: 'hex' | 'base64';
  /** Signatures from the header, in `encoding`. */
  signatures: string[];
  timestamp: number;
}

/** One secret's HMAC key. */
export interface PlannedKey {
  index: number;
  secret: string;
  key: string | Uint8Array;
}

/** The secrets checked and turned into HMAC keys per scheme: done once by long-lived endpoints. */
export interface SecretKeys {
  /** Secrets that decode as `whsec_<base64>`, with their decoded bytes. */
  standard: PlannedKey[];
  /** Every secret, used as is (its UTF-8 bytes). */
  mr: PlannedKey[];
}

const TIMESTAMP = /^\d{1,15}$/;
const HEX = /^[0-9a-f]+$/;

/**
 * Checks the `secret`/`secrets` option (else `invalid_secret`) and derives the HMAC keys of
 * both schemes, decoding `whsec_` secrets once.
 */
export function secretKeys(options: Partial<WebhookSecretOptions>): SecretKeys {
  const secrets = secretList(options);
  return { standard: keysFor(secrets, standardWebhooksKey), mr: keysFor(secrets, (s) => s) };
}

/**
 * Validates everything that needs no crypto and says what to hash. Throws {@link WebhookVerificationError}.
 * `keys` (from {@link secretKeys}) replaces the options' secrets.
 */
export function planVerification(options: WebhookDelivery & Partial<WebhookSecretOptions>, keys?: SecretKeys): VerificationPlan {
  if (!options || typeof options !== 'object') {
    throw new WebhookVerificationError('invalid_options', 'Options must be { body, headers, secret }.');
  }
  keys ??= secretKeys(options);
  const tolerance = options.toleranceSec ?? 300;
  if (typeof tolerance !== 'number' || !(tolerance >= 0)) {
    throw new WebhookVerificationError('invalid_options', 'toleranceSec must be >= 0.');
  }
  const body = rawBody(options.body);
  const h = readSignatureHeaders(options.headers);

  const sent = (name: SignatureHeaderName) => h[name] !== undefined;
  const hasStandard = STANDARD_HEADERS.every(sent);
  const hasMr = MR_HEADERS.every(sent);
  if (!hasStandard && !hasMr) {
    // Name the missing half of whichever set was partly sent; else the Standard set.
    const missing = (MR_HEADERS.some(sent) ? MR_HEADERS : STANDARD_HEADERS).filter((n) => !sent(n));
    throw new WebhookVerificationError('missing_header', `Missing header(s): ${missing.join(', ')}.`);
  }

  // The Standard Webhooks signature also covers the delivery id, so prefer it when usable.
  const standardKeys = hasStandard ? keys.standard : [];
  const scheme = standardKeys.length ? 'standard' : hasMr ? 'mr' : null;
  if (!scheme) {
    throw new WebhookVerificationError('invalid_secret', 'webhook-* headers need a "whsec_<base64>" secret.');
  }

  const timestamp = parseTimestamp(scheme === 'standard' ? h['webhook-timestamp']! : h['mr-timestamp']!, scheme);
  const age = Math.floor((options.now ?? Date.now)() / 1000) - timestamp;
  if (age > tolerance || -age > tolerance) {
    throw new WebhookVerificationError(
      'timestamp_out_of_range',
      `Timestamp is ${Math.abs(age)} s in the ${age > 0 ? 'past' : 'future'} (tolerance ${tolerance} s).`,
      'A replay, or clocks out of sync: run NTP.',
    );
  }

  if (scheme === 'standard') {
    return {
      body,
      scheme,
      prefix: `${h['webhook-id']}.${timestamp}.`,
      keys: standardKeys,
      encoding: 'base64',
      signatures: standardSignatures(h['webhook-signature']!),
      timestamp,
    };
  }
  return {
    body,
    scheme,
    prefix: `${timestamp}.`,
    keys: keys.mr,
    encoding: 'hex',
    signatures: mrSignatures(h['mr-signature']!),
    timestamp,
  };
}

/** Whether a computed digest (in the plan's encoding) is among the header's signatures, in constant time per signature. */
export function matchesSignature(plan: VerificationPlan, digest: string): boolean {
  return plan.signatures.some((s) => safeEqual(s, digest));
}

/**
 * Turns the index of the matching secret (or -1) into the signature check, or the
 * `bad_signature` error (with a hint when the body was evidently parsed or re-serialised).
 */
export function settleSignature(plan: VerificationPlan, matched: number): VerifiedSignature {
  if (matched < 0) {
    throw new WebhookVerificationError(
      'bad_signature',
      `No ${plan.scheme === 'standard' ? 'webhook' : 'mr'}-signature matched ${plan.keys.length > 1 ? `any of ${plan.keys.length} secrets` : 'the secret'}.`,
      reserialisedHint(plan.body),
    );
  }
  return { scheme: plan.scheme, matchedSecretIndex: matched, timestamp: plan.timestamp };
}

/** Adds the parsed event to a signature check of `body`. */
export function withEvent(plan: VerificationPlan, check: VerifiedSignature): VerifiedWebhook {
  const event = parseEvent(plan.body);
  return { ...check, event, webhookId: event.id };
}

function secretList(options: Partial<WebhookSecretOptions>): readonly string[] {
  const list = options.secrets ?? (options.secret === undefined ? undefined : [options.secret]);
  if (!Array.isArray(list) || list.length === 0 || !list.every((s) => typeof s === 'string' && s.length > 0)) {
    throw new WebhookVerificationError('invalid_secret', 'Give secret: "whsec_…" or secrets: ["whsec_…", …].');
  }
  return list;
}

function keysFor(secrets: readonly string[], derive: (s: string) => string | Uint8Array | null): PlannedKey[] {
  const keys: PlannedKey[] = [];
  secrets.forEach((secret, index) => {
    const key = derive(secret);
    if (key !== null) keys.push({ index, secret, key });
  });
  return keys;
}

function parseTimestamp(value: string, scheme: WebhookScheme): number {
  if (!TIMESTAMP.test(value)) {
    throw new WebhookVerificationError('invalid_header', `${scheme === 'standard' ? 'webhook' : 'mr'}-timestamp is not Unix seconds.`);
  }
  return Number(value);
}

function standardSignatures(header: string): string[] {
  // Entries are space-separated; a repeated header joined by Node or Fetch also puts a comma
  // between them ("v1,a, v1,b"). Base64 never holds a comma or a space, so the split is safe.
  const entries = header.split(/,?\s+/).filter((e) => e.includes(','));
  if (!entries.length) {
    throw new WebhookVerificationError('invalid_header', 'webhook-signature is not "v1,<base64> …".');
  }
  // Other versions are ignored so a sender can add new schemes without breaking this receiver.
  const v1 = entries.filter((e) => e.startsWith('v1,')).map((e) => e.slice(3));
  if (!v1.length) throw new WebhookVerificationError('bad_signature', 'webhook-signature has no v1 entry.');
  return v1;
}

function mrSignatures(header: string): string[] {
  const list = header.toLowerCase().split(/[\s,]+/).filter(Boolean);
  if (!list.length || !list.every((s) => HEX.test(s))) {
    throw new WebhookVerificationError('invalid_header', 'mr-signature is not hex.');
  }
  return list;
}
