/**
 * Makes rejections loud: each new or changed rejection is logged once at warn with its code, and
 * Prometheus shows how many resources are rejected now (gauge) and how many rejections were seen.
 */
import { Counter, Gauge, Registry } from 'prom-client';
import type { ResourceStatus } from '../api/status';
import { describeRejection, Rejection, rejectionsOf, resourceKey } from './last-good';

/** Log sink of the control plane (fields are structured, e.g. `{ code }`). */
export type RejectionLog = (level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;

/** Tracks the rejections of successive builds; `report()` after every build. */
export class RejectionReporter {
  private readonly gauge: Gauge<'kind'>;
  private readonly counter: Counter<'kind' | 'code'>;
  /** key → fingerprint of the rejection last reported, so a repeat is not logged again. */
  private seen = new Map<string, string>();
  private current: Rejection[] = [];

  constructor(registry: Registry, private readonly log: RejectionLog) {
    const registers = [registry];
    this.gauge = new Gauge({ name: 'weft_control_plane_rejected_resources', help: 'Custom resources rejected by the last model build (their last accepted version, a deny-all placeholder or nothing is served instead).', labelNames: ['kind'], registers });
    this.counter = new Counter({ name: 'weft_control_plane_rejections_total', help: 'Rejections seen (a resource counts again when its rejection changes).', labelNames: ['kind', 'code'], registers });
    for (const kind of ['MeshConfig', 'MeshService', 'CanaryRoute', 'MtlsPolicy']) this.gauge.set({ kind }, 0);
  }

  /** The rejections of the last build. */
  rejections(): readonly Rejection[] {
    return this.current;
  }

  report(statuses: readonly ResourceStatus[]): void {
    this.current = rejectionsOf(statuses);
    const next = new Map<string, string>();
    const perKind = new Map<string, number>([['MeshConfig', 0], ['MeshService', 0], ['CanaryRoute', 0], ['MtlsPolicy', 0]]);
    for (const r of this.current) {
      const key = resourceKey(r);
      const fingerprint = `${r.code}|${r.message}|${r.inForce}`;
      next.set(key, fingerprint);
      perKind.set(r.kind, (perKind.get(r.kind) ?? 0) + 1);
      if (this.seen.get(key) === fingerprint) continue;
      this.counter.inc({ kind: r.kind, code: r.code });
      this.log('warn', describeRejection(r), { code: r.code, kind: r.kind, namespace: r.namespace, name: r.name, inForce: r.inForce });
    }
    for (const key of this.seen.keys()) {
      if (!next.has(key)) this.log('info', `${key} is no longer rejected`);
    }
    this.seen = next;
    for (const [kind, n] of perKind) this.gauge.set({ kind }, n);
  }
}
