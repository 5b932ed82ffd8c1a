/**
 * What every exporter shares: the output object shape, the coded warnings for what a target cannot
 * express (never dropped silently), the options, host names and duration formats.
 */
import type { MeshModel, ServiceModel } from '../model';

/** A Kubernetes object as the exporters write it (plain JSON, ready for YAML). */
export interface KubeObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly namespace?: string; readonly labels?: Record<string, string> };
  readonly spec: Record<string, unknown>;
}

/** The meshes weft exports to. */
export const EXPORT_TARGETS = ['gateway-api', 'istio'] as const;
export type ExportTarget = (typeof EXPORT_TARGETS)[number];

/** Code of every export warning (registered in api/error-codes.ts). */
export const EXPORT_UNSUPPORTED = 'WEFT_ERR_EXPORT_UNSUPPORTED';

/** One thing of the weft mesh the target cannot express; the rest is exported. */
export interface ExportWarning {
  readonly code: typeof EXPORT_UNSUPPORTED;
  readonly target: ExportTarget;
  /** The weft resource it comes from (`CanaryRoute bookinfo/reviews-canary`, `MeshService bookinfo/ratings`). */
  readonly resource: string;
  /** The weft field (`routes[0].fault`, `trafficPolicy.loadBalancer`). */
  readonly field: string;
  /** What happens instead, and what to do. */
  readonly message: string;
}

/** Options of an export. */
export interface ExportOptions {
  /**
   * Istio's root namespace: mesh-wide PeerAuthentication and the allow-nothing
   * AuthorizationPolicy (for `defaultInboundPolicy: deny`) go there.
   * @default 'istio-system'
   */
  readonly rootNamespace?: string;
  /**
   * Kubernetes cluster domain of the service host names.
   * @default 'cluster.local'
   */
  readonly clusterDomain?: string;
  /**
   * Pod labels that select the pods of a service (its Service selector); a version adds `version`.
   * @default - `{ app: <service name> }`
   */
  readonly selectors?: ReadonlyMap<string, Readonly<Record<string, string>>>;
}

/** What an export produced. */
export interface ExportResult {
  readonly target: ExportTarget;
  readonly objects: readonly KubeObject[];
  readonly warnings: readonly ExportWarning[];
}

/** Collects warnings for one target. */
export class Warnings {
  readonly list: ExportWarning[] = [];
  constructor(readonly target: ExportTarget) {}
  add(resource: string, field: string, message: string): void {
    // one warning per resource, field and message (a policy shared by several objects warns once)
    if (this.list.some((w) => w.resource === resource && w.field === field && w.message === message)) return;
    this.list.push({ code: EXPORT_UNSUPPORTED, target: this.target, resource, field, message });
  }
}

/** Resolved options plus the model every exporter reads. */
export interface ExportContext {
  readonly model: MeshModel;
  readonly rootNamespace: string;
  readonly clusterDomain: string;
  readonly warn: Warnings;
  selector(svc: ServiceModel): Readonly<Record<string, string>>;
}

export function contextOf(model: MeshModel, target: ExportTarget, options: ExportOptions = {}): ExportContext {
  return {
    model,
    rootNamespace: options.rootNamespace ?? 'istio-system',
    clusterDomain: options.clusterDomain ?? 'cluster.local',
    warn: new Warnings(target),
    selector: (svc) => options.selectors?.get(`${svc.namespace}/${svc.name}`) ?? { app: svc.name },
  };
}

/** `reviews.bookinfo.svc.cluster.local`. */
export function hostOf(ctx: ExportContext, name: string, namespace: string): string {
  return `${name}.${namespace}.svc.${ctx.clusterDomain}`;
}

/** The weft resource a route came from, for warnings. */
export function routeOwner(svc: ServiceModel, source: string | undefined): string {
  return source ? `CanaryRoute ${svc.namespace}/${source}` : `MeshService ${svc.namespace}/${svc.name}`;
}

/** Gateway API Duration (GEP-2257): `2s`, `500ms`, `1m30s`. */
export function gatewayDuration(ms: number): string {
  if (ms % 1000 !== 0) return `${ms}ms`;
  const s = ms / 1000;
  if (s % 3600 === 0) return `${s / 3600}h`;
  if (s % 60 === 0) return `${s / 60}m`;
  return `${s}s`;
}

/** protobuf Duration in JSON (what Istio reads): `2s`, `0.5s`. */
export function protoDuration(ms: number): string {
  return `${ms / 1000}s`;
}

/** An Istio principal: the SPIFFE ID without `spiffe://` (`bookinfo.local/ns/bookinfo/sa/reviews`). */
export function istioPrincipal(p: string): string {
  return p.startsWith('spiffe://') ? p.slice('spiffe://'.length) : p;
}

/** Service port number → target (workload) port, which Istio's ports in policies mean. */
export function targetPortOf(svc: ServiceModel, port: number): number {
  return svc.ports.find((p) => p.port === port)?.targetPort ?? port;
}
