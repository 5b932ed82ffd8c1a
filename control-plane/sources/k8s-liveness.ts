/**
 * Watch liveness: a watch can stall silently (half-open TCP, a stuck apiserver watch cache; see
 * linkerd2 #15271), leaving the cache stale with no error. A periodic list compared with the cache
 * finds that; the caller then replaces the informer.
 */

interface Versioned {
  readonly metadata?: { readonly name?: string; readonly namespace?: string; readonly resourceVersion?: string };
}

const key = (o: Versioned) => `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;

/**
 * Names of objects on which `listed` (fresh from the API) and `cached` (the informer) disagree:
 * missing on either side or at another resourceVersion. Empty when the cache is current.
 */
export function staleKeys(listed: readonly Versioned[], cached: readonly Versioned[]): string[] {
  const want = new Map(listed.map((o) => [key(o), o.metadata?.resourceVersion]));
  const have = new Map(cached.map((o) => [key(o), o.metadata?.resourceVersion]));
  const out: string[] = [];
  for (const [k, rv] of want) if (have.get(k) !== rv) out.push(k);
  for (const k of have.keys()) if (!want.has(k)) out.push(k);
  return out.sort();
}
