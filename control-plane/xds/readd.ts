/**
 * grpc-js-xds 1.14.1 keeps a deleted resource's cached copy and then swallows an identical re-add
 * (xds-notes §1.7 #2; fixed upstream by grpc-node PR #3074). Holds prevent deleting resources a
 * route references, but a Listener has no referrer and a cluster may outlive its route inside the
 * client's balancer. So when a resource a proxyless stream saw deleted comes back byte-identical,
 * it is sent as a variant that differs in a field the client parses: a Listener's top-level
 * `stat_prefix` (never acted on), a Cluster's default `circuit_breakers` max_requests (+n over the
 * value in force, 1024 when unset — grpc's own default).
 */
import { decodeResource, encodeResource, XdsObject } from '../../api/xds/codec';
import { CLUSTER, LISTENER } from '../../api/xds/protos';
import { Entry, hashBytes } from './snapshot';

/** Per-stream guard against identical re-adds of Listeners and Clusters (proxyless streams only). */
export class ReaddGuard {
  private readonly tombstones = new Map<string, string>();
  private readonly variants = new Map<string, { base: string; entry: Entry }>();
  private count = 0;

  /**
   * Records deletions (names sent before, absent now) and swaps identical re-adds for variants.
   * Returns the entries to send and whether any was swapped.
   */
  apply(typeUrl: string, entries: readonly Entry[], previous: ReadonlyMap<string, Entry> | undefined): { entries: readonly Entry[]; swapped: boolean } {
    if (typeUrl !== LISTENER && typeUrl !== CLUSTER) return { entries, swapped: false };
    const present = new Set(entries.map((e) => e.name));
    for (const [name, prev] of previous ?? []) {
      if (present.has(name)) continue;
      this.tombstones.set(name, this.variants.get(name)?.base ?? prev.hash);
      this.variants.delete(name);
    }
    let swapped = false;
    const out = entries.map((e) => {
      const v = this.variants.get(e.name);
      if (v && v.base === e.hash) { swapped = true; return v.entry; }
      this.variants.delete(e.name);
      const dead = this.tombstones.get(e.name);
      this.tombstones.delete(e.name);
      if (dead !== e.hash) return e;
      const obj = decodeResource(typeUrl, e.bytes);
      const n = ++this.count;
      if (typeUrl === LISTENER) obj.stat_prefix = `${typeof obj.stat_prefix === 'string' ? obj.stat_prefix : ''}weft-readd-${n}`;
      else {
        const cb = (obj.circuit_breakers ?? {}) as XdsObject;
        const thresholds = ((cb.thresholds as XdsObject[] | undefined) ?? [{}]).map((t) => ({ ...t }));
        const max = (thresholds[0].max_requests as { value?: number } | undefined)?.value ?? 1024;
        thresholds[0].max_requests = { value: max + n };
        obj.circuit_breakers = { ...cb, thresholds };
      }
      const bytes = encodeResource(typeUrl, obj);
      const entry: Entry = { name: e.name, bytes, hash: hashBytes(bytes), refs: e.refs };
      this.variants.set(e.name, { base: e.hash, entry });
      swapped = true;
      return entry;
    });
    return { entries: out, swapped };
  }
}
