/** Stand-in for `token-source.ts`: reconnects use the resume token only (no getToken, no backend). */
import type { TokenOutcome } from '../../../packages/client/src/token-source.js';

export type { LinkToken, TokenOutcome } from '../../../packages/client/src/token-source.js';
export const hasTokenSource = (): boolean => false;
export const tokenRefused = (): boolean => false;
export const acquireToken = async (): Promise<TokenOutcome> => null;
export const fetchToken = async (): Promise<TokenOutcome> => null;
