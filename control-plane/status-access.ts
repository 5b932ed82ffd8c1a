/**
 * Who may read the control plane's `/status` (every proxy's node id, service, config versions and
 * NACK texts): loopback callers (`kubectl port-forward`, `weft up`'s own CLI) and, when a token file
 * is configured, callers that send it as `Authorization: Bearer <token>`. `/ready`, `/live` and
 * `/metrics` stay open on the port: the kubelet and Prometheus reach them over the pod address.
 */
import { readFileSync } from 'node:fs';
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/** The code of the 403 a refused `/status` request gets. */
export const STATUS_FORBIDDEN = 'WEFT_ERR_CP_STATUS_FORBIDDEN';

/** Whether `address` (a socket's remote address) is loopback: 127.0.0.0/8, ::1, or v4-mapped 127/8. */
export function isLoopbackPeer(address: string | undefined): boolean {
  if (!address) return false;
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address;
  return v4.startsWith('127.') || address === '::1';
}

/** The token in `file` (trimmed), read on every call so a rotated Secret takes effect; undefined when unreadable or empty. */
export function readStatusToken(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

/** Whether `req` may read `/status`: a loopback peer, or the bearer token `token()` returns (compared in constant time). */
export function statusAllowed(req: IncomingMessage, token?: () => string | undefined): boolean {
  if (isLoopbackPeer(req.socket.remoteAddress)) return true;
  const want = token?.();
  const m = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
  if (!want || !m) return false;
  const a = Buffer.from(m[1]);
  const b = Buffer.from(want);
  return a.length === b.length && timingSafeEqual(a, b);
}
