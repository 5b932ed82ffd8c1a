/**
 * A two-generation cache by content: values found by a short bucket name (the resource name), then
 * by a content key (sha1 of its JSON, one-shot). Holding the JSON itself as the key measured no
 * faster and kept ~10 MB more heap at 1,000 services; a Hash object per resource cost more CPU.
 */
import * as crypto from 'crypto';

type OneShotHash = (algorithm: string, data: string, encoding: 'base64' | 'hex') => string;
// crypto.hash() exists from Node 20.12; older 20.x (package.json allows >=20) fall back to createHash.
const oneShot = (crypto as unknown as { hash?: OneShotHash }).hash;

/** sha256 of a string (utf8), hex. */
export function sha256Hex(s: string): string {
  return oneShot ? oneShot('sha256', s, 'hex') : crypto.createHash('sha256').update(s).digest('hex');
}

/** Content key of a JSON string: sha1, base64 (27 characters). */
export function contentKey(json: string): string {
  return oneShot ? oneShot('sha1', json, 'base64') : crypto.createHash('sha1').update(json).digest('base64');
}

interface Slot<V> {
  readonly key: string;
  readonly value: V;
}

function find<V>(slots: readonly Slot<V>[] | undefined, key: string): V | undefined {
  if (slots) for (const s of slots) if (s.key === key) return s.value;
  return undefined;
}

/** Values by (bucket, content key), kept while the current or the previous generation used them. */
export class ContentCache<V> {
  private cur = new Map<string, Slot<V>[]>();
  private prev = new Map<string, Slot<V>[]>();

  /** The value of `key` (a contentKey()) under `bucket`, made by `make()` on a miss (a throw caches nothing). */
  get(bucket: string, key: string, make: () => V): V {
    let slots = this.cur.get(bucket);
    const hit = find(slots, key);
    if (hit !== undefined) return hit;
    const value = find(this.prev.get(bucket), key) ?? make();
    if (!slots) { slots = []; this.cur.set(bucket, slots); }
    slots.push({ key, value });
    return value;
  }

  /** Starts a new generation; values unused for two generations are dropped. */
  rotate(): void {
    this.prev = this.cur;
    this.cur = new Map();
  }
}
