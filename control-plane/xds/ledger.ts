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

/** Per-(node, type, resource) status, plus recent NACK history. */
export class NackLedger {
  private readonly entries = new Map<string, LedgerEntry>();
  private readonly history: NackRecord[] = [];

  constructor(private readonly historyLimit = 200) {}

  private k(nodeId: string, typeUrl: string, name: string): string {
    return `${nodeId}\u0000${typeUrl}\u0000${name}`;
  }

  /** Records resources sent in a response. */
  sent(nodeId: string, streamId: number, typeUrl: string, version: string, resources: readonly { name: string; hash: string }[]): void {
    const at = new Date().toISOString();
    for (const r of resources) {
      const key = this.k(nodeId, typeUrl, r.name);
      const prev = this.entries.get(key);
      // Unchanged bytes keep their verdict (a resend of an ACKed resource stays ACKED).
      if (prev && prev.hash === r.hash && prev.state !== 'SENT') this.entries.set(key, { ...prev, version, streamId });
      else this.entries.set(key, { nodeId, streamId, typeUrl, name: r.name, state: 'SENT', hash: r.hash, version, at });
    }
  }

  /** Records the client's verdict on resources: `errors` maps the rejected ones to their text. */
  answered(nodeId: string, typeUrl: string, names: readonly string[], errors: ReadonlyMap<string, string>): void {
    const at = new Date().toISOString();
    for (const name of names) {
      const key = this.k(nodeId, typeUrl, name);
      const prev = this.entries.get(key);
      if (!prev) continue;
      const error = errors.get(name);
      this.entries.set(key, error !== undefined ? { ...prev, state: 'NACKED', error, at } : { ...prev, state: 'ACKED', error: undefined, at });
    }
  }

  /** Appends a NACK to the bounded history. */
  recordNack(r: NackRecord): void {
    this.history.push(r);
    if (this.history.length > this.historyLimit) this.history.splice(0, this.history.length - this.historyLimit);
  }

  /** Forgets a node's resources when its stream ends (history stays). */
  dropNode(nodeId: string, streamId: number): void {
    for (const [key, e] of this.entries) if (e.nodeId === nodeId && e.streamId === streamId) this.entries.delete(key);
  }

  /** Every entry, optionally of one node. */
  list(nodeId?: string): LedgerEntry[] {
    return [...this.entries.values()].filter((e) => nodeId === undefined || e.nodeId === nodeId);
  }

  /** Entries currently NACKED. */
  nacked(): LedgerEntry[] {
    return this.list().filter((e) => e.state === 'NACKED');
  }

  /** Recent NACKs, oldest first. */
  recentNacks(): NackRecord[] {
    return [...this.history];
  }
}
