/**
 * The request hash for consistent hashing (Envoy RouteAction.hash_policy): policies are tried in
 * order and their hashes combined; a `terminal` policy that produced a hash stops the walk. No
 * hash at all means the ring-hash picker chooses at random, as Envoy does.
 */
import type { HashPolicy } from '../config/types';
import { murmur3 } from '../balance/hash';
import type { ProxyRequest } from '../stack/types';
import { splitPath } from './route-match';

/** The value of cookie `name` in the request, if any. */
export function cookieValue(req: ProxyRequest, name: string): string | undefined {
  const raw = req.headers.cookie;
  const all = Array.isArray(raw) ? raw.join('; ') : raw ?? '';
  for (const part of all.split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === name) return part.slice(i + 1).trim();
  }
  return undefined;
}

function keyOf(p: HashPolicy, req: ProxyRequest): string | undefined {
  switch (p.kind) {
    case 'header': {
      const v = req.headers[p.name];
      return Array.isArray(v) ? v.join(',') : v;
    }
    case 'cookie': return cookieValue(req, p.name);
    case 'query': return new URLSearchParams(splitPath(req.path).query).get(p.name) ?? undefined;
    default: return req.peer.address;
  }
}

/** The 32-bit hash of `req` under `policies`, or undefined when no policy applied. */
export function requestHash(policies: readonly HashPolicy[], req: ProxyRequest): number | undefined {
  let hash: number | undefined;
  for (const p of policies) {
    const key = keyOf(p, req);
    if (key === undefined) continue;
    const h = murmur3(key);
    // Rotate-and-xor combine, as Envoy does, so the order of policies matters.
    hash = hash === undefined ? h : (((hash << 1) | (hash >>> 31)) ^ h) >>> 0;
    if (p.terminal) break;
  }
  return hash;
}
