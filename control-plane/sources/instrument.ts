/**
 * Wraps any MeshSource with what operators need from the outside: readiness (first snapshot seen),
 * Prometheus counters for snapshots, status writes and their failures, and the last error.
 */
import { Counter, Gauge, Registry } from 'prom-client';
import type { ResourceStatus } from '../../api/status';
import type { NodeEvents } from './local';
import type { MeshSource, SourceSnapshot } from './types';

/** A MeshSource plus observability; pass it wherever the source itself would go. */
export class InstrumentedSource implements MeshSource {
  /** True once the first snapshot went out (the control plane has something to serve). */
  synced = false;
  /** Last snapshot time (ISO), for `/status`. */
  lastSnapshotAt?: string;
  /** The last snapshot passed on (after the MeshConfig selection). */
  lastSnapshot?: SourceSnapshot;
  private readonly snapshots: Counter<'source'>;
  private readonly statusWrites: Counter<'source' | 'result'>;
  private readonly endpoints: Gauge<'source'>;
  private readonly resources: Gauge<'source'>;

  constructor(
    readonly inner: MeshSource,
    readonly kind: string,
    registry: Registry,
    /** Only this MeshConfig is passed on (others in the cluster belong to other meshes). @default all */
    readonly meshConfig?: string,
  ) {
    const registers = [registry];
    this.snapshots = new Counter({ name: 'weft_source_snapshots_total', help: 'Snapshots the source emitted.', labelNames: ['source'], registers });
    this.statusWrites = new Counter({ name: 'weft_source_status_reports_total', help: 'Status reports handed to the source, by result.', labelNames: ['source', 'result'], registers });
    this.endpoints = new Gauge({ name: 'weft_source_endpoints', help: 'Endpoints in the last snapshot.', labelNames: ['source'], registers });
    this.resources = new Gauge({ name: 'weft_source_resources', help: 'Custom resources in the last snapshot.', labelNames: ['source'], registers });
  }

  start(onChange: (snapshot: SourceSnapshot) => void): Promise<void> {
    return this.inner.start((raw) => {
      const snap = this.meshConfig ? { ...raw, resources: raw.resources.filter((r) => r.kind !== 'MeshConfig' || r.metadata.name === this.meshConfig) } : raw;
      this.lastSnapshot = snap;
      this.synced = true;
      this.lastSnapshotAt = new Date().toISOString();
      this.snapshots.inc({ source: this.kind });
      this.endpoints.set({ source: this.kind }, snap.endpoints.length);
      this.resources.set({ source: this.kind }, snap.resources.length);
      onChange(snap);
    });
  }

  async reportStatus(statuses: readonly ResourceStatus[]): Promise<void> {
    if (!this.inner.reportStatus) return;
    try {
      await this.inner.reportStatus(statuses);
      this.statusWrites.inc({ source: this.kind, result: 'ok' });
    } catch (e) {
      this.statusWrites.inc({ source: this.kind, result: 'error' });
      throw e;
    }
  }

  stop(): Promise<void> {
    return this.inner.stop();
  }

  /** Forwards ADS node events when the wrapped source self-registers endpoints (the local source). */
  attach(events: NodeEvents): void {
    const inner = this.inner as Partial<{ attach(e: NodeEvents): void }>;
    if (typeof inner.attach === 'function') inner.attach.call(this.inner, events);
  }
}
