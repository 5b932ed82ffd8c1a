/**
 * The NACK ledger: what each connected node was sent, ACKed and NACKed, per (node, type, resource),
 * as gRFC A46 clients accept the valid resources of a NACKed response and reject the rest.
 */

/** State of one resource at one node. */
export type ResourceState = 'SENT' | 'ACKED' | 'NACKED';

/** The ledger's view of one (node, type, resource). */
export interface LedgerEntry {
  readonly nodeId: string;
  readonly streamId: number;
  readonly typeUrl: string;
  readonly name: string;
  readonly state: ResourceState;
  /** Content hash of the resource last sent. */
  readonly hash: string;
  /** version_info of the response that carried it. */
  readonly version: string;
  /** The client's error text when NACKED. */
  readonly error?: string;
  readonly at: string;
}

/** A NACK as it arrived, kept in a bounded history even after the node leaves. */
export interface NackRecord {
  readonly nodeId: string;
  readonly typeUrl: string;
  readonly version: string;
  readonly nonce: string;
  /** Resources the error text names (by `resource index N:`); empty when it names none. */
  readonly resources: readonly string[];
  readonly error: string;
  readonly at: string;
}

/** Splits a grpc-js / Envoy NACK message into per-resource errors using the sent order. */
export function parseNackErrors(message: string, sentOrder: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  const body = message.replace(/^xDS response validation errors: \[/, '').replace(/\]$/, '');
  for (const part of body.split(/;\s*(?=resource index \d+:)/)) {
    const m = /^resource index (\d+):\s*([\s\S]*)$/.exec(part.trim());
    if (m && sentOrder[Number(m[1])] !== undefined) out.set(sentOrder[Number(m[1])], m[2]);
  }
  // Envoy-style texts name resources directly; match any sent name that appears in the text.
  if (!out.size) for (const n of sentOrder) if (n && message.includes(n)) out.set(n, message);
  return out;
}

/**
 * The NACK side of the ledger, per (node, type, resource): the client's error text for each
 * rejected resource, until a later answer accepts it. SENT/ACKED states are derived from the
 * streams' own state on demand (see AdsStream.ledgerEntries), so 1,000 nodes × thousands of
 * resources cost nothing until someone asks.
 */
export class NackLedger {
  private readonly errors = new Map<string, LedgerEntry>();
  /** Standing errors per node + type: an ACK of a type with none touches nothing (1,000 nodes × 2,000 resources per ACK otherwise). */
  private readonly counts = new Map<string, number>();
  private readonly history: NackRecord[] = [];

  constructor(private readonly historyLimit = 200) {}

  private k(nodeId: string, typeUrl: string, name: string): string {
    return `${nodeId}\u0000${typeUrl}\u0000${name}`;
  }

  /** Records the client's verdict on a response: `errors` maps the rejected resources to their text. */
  answered(nodeId: string, streamId: number, typeUrl: string, version: string, sent: ReadonlyMap<string, { hash: string }>, errors: ReadonlyMap<string, string>): void {
    const countKey = `${nodeId}\u0000${typeUrl}`;
    if (errors.size === 0 && !this.counts.get(countKey)) return;
    const at = new Date().toISOString();
    let n = this.counts.get(countKey) ?? 0;
    for (const [name, e] of sent) {
      const key = this.k(nodeId, typeUrl, name);
      const error = errors.get(name);
      const had = this.errors.has(key);
      if (error !== undefined) {
        this.errors.set(key, { nodeId, streamId, typeUrl, name, state: 'NACKED', hash: e.hash, version, error, at });
        if (!had) n++;
      } else if (had) {
        this.errors.delete(key);
        n--;
      }
    }
    if (n > 0) this.counts.set(countKey, n);
    else this.counts.delete(countKey);
  }

  /** The standing NACK of one resource, if any. */
  errorOf(nodeId: string, typeUrl: string, name: string): LedgerEntry | undefined {
    return this.errors.get(this.k(nodeId, typeUrl, name));
  }

  /** Appends a NACK to the bounded history. */
  recordNack(r: NackRecord): void {
    this.history.push(r);
    if (this.history.length > this.historyLimit) this.history.splice(0, this.history.length - this.historyLimit);
  }

  /** Forgets a stream's standing NACKs when it ends (history stays). */
  dropNode(nodeId: string, streamId: number): void {
    for (const [key, e] of this.errors) {
      if (e.nodeId !== nodeId || e.streamId !== streamId) continue;
      this.errors.delete(key);
      const countKey = `${nodeId}\u0000${e.typeUrl}`;
      const n = (this.counts.get(countKey) ?? 1) - 1;
      if (n > 0) this.counts.set(countKey, n);
      else this.counts.delete(countKey);
    }
  }

  /** Resources currently NACKed by a connected node. */
  nacked(): LedgerEntry[] {
    return [...this.errors.values()];
  }

  /** Recent NACKs, oldest first. */
  recentNacks(): NackRecord[] {
    return [...this.history];
  }
}
