/**
 * A two-generation cache by content: values found by a short bucket name (the resource name) and
 * then by `===` on a long content key (its JSON). Looking up megabytes of JSON keys in a Map hashed
 * every character of them; comparing against the few keys under one name is a length check and
 * a memcmp.
 */

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

  /** The value of `key` under `bucket`, made by `make()` on a miss (a throw caches nothing). */
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
