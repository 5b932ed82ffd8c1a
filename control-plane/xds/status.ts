/**
 * The status API of the ADS server: connected proxies, what each was sent and ACKed, NACKs with
 * their error text and rendering failures, as plain JSON for `weft proxy-status` and `/status`.
 */
import type { RenderError, SnapshotCache } from './cache';
import type { LedgerEntry, NackLedger, NackRecord } from './ledger';
import type { ConnectedNode } from './wire';

/** Per-type view of one stream. */
export interface TypeStatus {
  /** Subscribed names, or "*" for a wildcard subscription. */
  readonly subscribed: readonly string[] | '*';
  readonly sentVersion?: string;
  readonly sentNonce?: string;
  readonly ackedVersion?: string;
  /** True while the last response is neither ACKed nor NACKed. */
  readonly pending: boolean;
  /** Text of the last NACK (or of a response that could not be sent); cleared by the next ACK. */
  readonly lastError?: string;
}

/** One connected client. */
export interface ClientStatus {
  readonly node: ConnectedNode;
  /** By type URL. */
  readonly types: Readonly<Record<string, TypeStatus>>;
}

/** The whole status document. */
export interface StatusDocument {
  readonly clients: ClientStatus[];
  readonly nacked: LedgerEntry[];
  readonly recentNacks: NackRecord[];
  readonly renderErrors: RenderError[];
  readonly modelGeneration: number;
}

/** Read-only view over the server's state. */
export class AdsStatus {
  constructor(
    private readonly clientsFn: () => ClientStatus[],
    private readonly resourcesFn: (nodeId?: string) => LedgerEntry[],
    private readonly ledger: NackLedger,
    private readonly cache: SnapshotCache,
  ) {}

  /** Connected clients with their per-type state. */
  clients(): ClientStatus[] {
    return this.clientsFn();
  }

  /** Ledger entries (per node, type, resource), optionally of one node id. */
  resources(nodeId?: string): LedgerEntry[] {
    return this.resourcesFn(nodeId);
  }

  /** Resources currently NACKed by a connected node. */
  nacked(): LedgerEntry[] {
    return this.ledger.nacked();
  }

  /** The last NACKs received (bounded history, survives disconnects). */
  recentNacks(): NackRecord[] {
    return this.ledger.recentNacks();
  }

  /** Everything, JSON-serializable. */
  toJSON(): StatusDocument {
    return { clients: this.clients(), nacked: this.nacked(), recentNacks: this.recentNacks(), renderErrors: this.cache.errors(), modelGeneration: this.cache.generation };
  }
}
