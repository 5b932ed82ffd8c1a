/**
 * Response plans: the entries of one response type split under the size budget, each chunk with its
 * encoded `resources` body. A plan of a whole snapshot type is computed once and shared by every
 * stream sent that type (1,000 sidecars of one service share one body), keyed by the snapshot map.
 */
import type { Entry } from './snapshot';
import { encodeResourcesBody } from './wire';

/** One response of a plan. */
export interface PlannedChunk {
  /** Resource names in wire order (what `resource index N` of a NACK refers to). */
  readonly order: readonly string[];
  readonly body: Buffer;
}

/** The responses that carry a set of entries. */
export interface ResponsePlan {
  /** Sum of the entries' bytes plus per-resource overhead. */
  readonly size: number;
  /** Over the budget (split into several chunks, or not sendable). */
  readonly oversize: boolean;
  /** Empty when oversize and not splittable (LDS/CDS, or one resource alone over the budget). */
  readonly chunks: readonly PlannedChunk[];
}

/** Splits `entries` into responses of at most `maxBytes` (RDS/EDS only; LDS/CDS must stay whole). */
export function planResponse(typeUrl: string, entries: readonly Entry[], maxBytes: number, splittable: boolean): ResponsePlan {
  const overhead = 64 + typeUrl.length;
  const size = entries.reduce((n, e) => n + e.bytes.length + overhead, 0);
  const chunk = (list: readonly Entry[]): PlannedChunk => ({ order: list.map((e) => e.name), body: encodeResourcesBody(typeUrl, list) });
  if (size <= maxBytes) return { size, oversize: false, chunks: [chunk(entries)] };
  if (!splittable || !entries.every((e) => e.bytes.length + overhead <= maxBytes)) return { size, oversize: true, chunks: [] };
  const lists: Entry[][] = [];
  let cur: Entry[] = [];
  let bytes = 0;
  for (const e of entries) {
    if (bytes + e.bytes.length + overhead > maxBytes && cur.length) { lists.push(cur); cur = []; bytes = 0; }
    cur.push(e);
    bytes += e.bytes.length + overhead;
  }
  lists.push(cur);
  return { size, oversize: true, chunks: lists.map(chunk) };
}

const lists = new WeakMap<ReadonlyMap<string, Entry>, readonly Entry[]>();

/** The values of a snapshot map as an array, computed once per map. */
export function entryList(m: ReadonlyMap<string, Entry>): readonly Entry[] {
  let l = lists.get(m);
  if (!l) { l = [...m.values()]; lists.set(m, l); }
  return l;
}

const plans = new WeakMap<ReadonlyMap<string, Entry>, Map<string, ResponsePlan>>();

/** planResponse() of every entry of a snapshot map, computed once per (map, type, budget). */
export function sharedPlan(typeUrl: string, m: ReadonlyMap<string, Entry>, maxBytes: number, splittable: boolean): ResponsePlan {
  let byKey = plans.get(m);
  if (!byKey) { byKey = new Map(); plans.set(m, byKey); }
  const key = `${typeUrl}|${maxBytes}|${splittable}`;
  let p = byKey.get(key);
  if (!p) { p = planResponse(typeUrl, entryList(m), maxBytes, splittable); byKey.set(key, p); }
  return p;
}

const subsets = new WeakMap<ReadonlyMap<string, Entry>, WeakMap<ReadonlyMap<string, Entry>, boolean>>();

/** Whether every name of `a` is in `b` (memoized per pair of maps: streams share snapshot maps). */
export function namesWithin(a: ReadonlyMap<string, Entry>, b: ReadonlyMap<string, Entry>): boolean {
  if (a === b || a.size === 0) return true;
  let inner = subsets.get(a);
  if (!inner) { inner = new WeakMap(); subsets.set(a, inner); }
  let yes = inner.get(b);
  if (yes === undefined) {
    yes = true;
    for (const n of a.keys()) if (!b.has(n)) { yes = false; break; }
    inner.set(b, yes);
  }
  return yes;
}

const keySets = new WeakMap<ReadonlySet<string>, WeakMap<ReadonlyMap<string, Entry>, boolean>>();

/** Whether `names` are exactly the keys of `m` (memoized per pair: subscriptions are interned, maps shared). */
export function namesAreKeys(names: ReadonlySet<string>, m: ReadonlyMap<string, Entry>): boolean {
  let inner = keySets.get(names);
  if (!inner) { inner = new WeakMap(); keySets.set(names, inner); }
  let yes = inner.get(m);
  if (yes === undefined) {
    yes = names.size === m.size;
    if (yes) for (const n of names) if (!m.has(n)) { yes = false; break; }
    inner.set(m, yes);
  }
  return yes;
}

const refSets = new WeakMap<ReadonlyMap<string, Entry>, Map<string, ReadonlySet<string>>>();

/** Names of type `t` that the entries of `m` reference (memoized per map). */
export function referencedIn(m: ReadonlyMap<string, Entry>, t: string): ReadonlySet<string> {
  let byType = refSets.get(m);
  if (!byType) { byType = new Map(); refSets.set(m, byType); }
  let s = byType.get(t);
  if (!s) {
    const out = new Set<string>();
    for (const e of m.values()) for (const n of e.refs.get(t) ?? []) out.add(n);
    s = out;
    byType.set(t, s);
  }
  return s;
}

/** A subscription's names, shared by every stream that subscribes to exactly that list. */
export interface InternedNames {
  readonly list: readonly string[];
  readonly set: ReadonlySet<string>;
}

const namePool = new Map<string, WeakRef<InternedNames>>();
const namePoolCleanup = new FinalizationRegistry<string>((key) => {
  if (!namePool.get(key)?.deref()) namePool.delete(key);
});

/**
 * The interned form of a resource_names list: 1,000 sidecars subscribing to the same 2,000 EDS
 * names hold one list and one Set, not 1,000 of each. Entries go when no stream holds them.
 */
export function internNames(list: readonly string[]): InternedNames {
  const key = list.join('\u0000');
  const hit = namePool.get(key)?.deref();
  if (hit) return hit;
  const n: InternedNames = { list: [...list], set: new Set(list) };
  namePool.set(key, new WeakRef(n));
  namePoolCleanup.register(n, key);
  return n;
}
