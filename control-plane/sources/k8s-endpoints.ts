/**
 * Kubernetes objects → EndpointModel: EndpointSlices (which addresses are ready) joined with their
 * Pods (version label, sidecar presence) and Services (port names). Pure, so it is tested directly.
 */
import { RESERVED_PORTS } from '../../api/bootstrap';
import type { EndpointModel } from '../../api/model';

/** Container name of the weft sidecar; the constructs inject it as a native sidecar (initContainer). */
export const SIDECAR_CONTAINER = 'weft-proxy';
/** Label EndpointSlices carry naming their Service. */
export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';
/** Version used for pods that carry no `version` label. */
export const DEFAULT_VERSION = 'default';

// The fields we read. Lists arrive as client-node model objects, watch events as raw JSON; both fit.
interface Meta {
  readonly name?: string;
  readonly namespace?: string;
  readonly labels?: Record<string, string>;
}
/** The part of a core/v1 Pod the join reads. */
export interface PodLike {
  readonly metadata?: Meta;
  readonly spec?: {
    readonly serviceAccountName?: string;
    readonly containers?: readonly { readonly name: string }[];
    readonly initContainers?: readonly { readonly name: string; readonly restartPolicy?: string }[];
  };
  readonly status?: { readonly podIP?: string };
}
/** The part of a core/v1 Service the join reads. */
export interface ServiceLike {
  readonly metadata?: Meta;
  readonly spec?: { readonly ports?: readonly { readonly name?: string; readonly port: number }[] };
}
/** The part of a discovery.k8s.io/v1 EndpointSlice the join reads. */
export interface EndpointSliceLike {
  readonly metadata?: Meta;
  readonly addressType?: string;
  readonly endpoints?: readonly {
    readonly addresses?: readonly string[];
    readonly conditions?: { readonly ready?: boolean; readonly serving?: boolean; readonly terminating?: boolean };
    readonly targetRef?: { readonly kind?: string; readonly name?: string; readonly namespace?: string };
  }[];
  readonly ports?: readonly { readonly name?: string; readonly port?: number }[];
}

/** Inputs of the join. */
export interface EndpointInputs {
  /** `namespace/name` of each MeshService → its `spec.serviceAccount` (the identity its endpoints must present). */
  readonly meshServices: ReadonlyMap<string, string>;
  readonly services: readonly ServiceLike[];
  readonly slices: readonly EndpointSliceLike[];
  readonly pods: readonly PodLike[];
  /** @default SIDECAR_CONTAINER */
  readonly sidecarName?: string;
  /**
   * Told about each meshed pod left out because it runs under another ServiceAccount than its
   * MeshService names: its certificate would carry the wrong SPIFFE ID and every mTLS handshake fail.
   * @default ignore
   */
  readonly onIdentityMismatch?: (pod: string, runsAs: string, expected: string) => void;
}

/** Whether the pod runs the weft sidecar (native sidecar initContainer, or a plain container). */
export function hasSidecar(pod: PodLike | undefined, sidecarName = SIDECAR_CONTAINER): boolean {
  const spec = pod?.spec;
  if (!spec) return false;
  return (spec.initContainers ?? []).some((c) => c.name === sidecarName) || (spec.containers ?? []).some((c) => c.name === sidecarName);
}

const key = (ns: string | undefined, name: string | undefined) => `${ns ?? ''}/${name ?? ''}`;

/**
 * Endpoints of every MeshService, sorted. Only slices whose Service has a MeshService of the same
 * name count; an endpoint is kept while ready or still serving (terminating = draining, ready false).
 * A pod listed by several slices (dual stack) yields one endpoint, IPv4 preferred. A meshed pod
 * under a ServiceAccount other than the MeshService's is left out (see `onIdentityMismatch`).
 */
export function deriveEndpoints(inputs: EndpointInputs): EndpointModel[] {
  const pods = new Map(inputs.pods.map((p) => [key(p.metadata?.namespace, p.metadata?.name), p]));
  const services = new Map(inputs.services.map((s) => [key(s.metadata?.namespace, s.metadata?.name), s]));
  const out = new Map<string, EndpointModel>();
  const slices = [...inputs.slices].sort((a, b) => rank(a.addressType) - rank(b.addressType));
  for (const slice of slices) {
    const ns = slice.metadata?.namespace ?? 'default';
    const serviceName = slice.metadata?.labels?.[SERVICE_NAME_LABEL];
    const expectedSa = serviceName ? inputs.meshServices.get(key(ns, serviceName)) : undefined;
    if (!serviceName || expectedSa === undefined) continue;
    if (slice.addressType !== 'IPv4' && slice.addressType !== 'IPv6') continue; // FQDN slices cannot feed EDS
    const svc = services.get(key(ns, serviceName));
    for (const ep of slice.endpoints ?? []) {
      const address = ep.addresses?.[0];
      if (!address) continue;
      const ready = ep.conditions?.ready !== false; // nil means ready (EndpointSlice API)
      if (!ready && ep.conditions?.serving !== true) continue;
      const podName = ep.targetRef?.kind === 'Pod' ? ep.targetRef.name : undefined;
      const pod = podName ? pods.get(key(ep.targetRef?.namespace ?? ns, podName)) : undefined;
      const instance = podName ?? address;
      const id = `${ns}/${serviceName}/${instance}`;
      if (out.has(id)) continue;
      const meshed = hasSidecar(pod, inputs.sidecarName);
      const runsAs = pod?.spec?.serviceAccountName ?? 'default';
      if (meshed && runsAs !== expectedSa) {
        inputs.onIdentityMismatch?.(`${ns}/${podName}`, runsAs, expectedSa);
        continue;
      }
      out.set(id, {
        service: serviceName,
        namespace: ns,
        version: pod?.metadata?.labels?.version ?? DEFAULT_VERSION,
        address,
        ports: portsOf(slice, svc, meshed),
        ready,
        instance,
        meshed,
      });
    }
  }
  return [...out.values()].sort(compareEndpoints);
}

/** Meshed endpoints are reached on the sidecar's inbound port for every service port; others on the app port. */
function portsOf(slice: EndpointSliceLike, svc: ServiceLike | undefined, meshed: boolean): Record<string, number> {
  const ports: Record<string, number> = {};
  const names = new Set<string>();
  for (const p of svc?.spec?.ports ?? []) names.add(p.name ?? '');
  for (const p of slice.ports ?? []) names.add(p.name ?? '');
  for (const name of [...names].sort()) {
    if (meshed) ports[name] = RESERVED_PORTS.inbound;
    else {
      const port = slice.ports?.find((p) => (p.name ?? '') === name)?.port;
      if (port !== undefined) ports[name] = port;
    }
  }
  return ports;
}

function rank(addressType: string | undefined): number {
  return addressType === 'IPv4' ? 0 : 1;
}

/** Stable order: namespace, service, version, instance. */
export function compareEndpoints(a: EndpointModel, b: EndpointModel): number {
  return a.namespace.localeCompare(b.namespace) || a.service.localeCompare(b.service) || a.version.localeCompare(b.version) || a.instance.localeCompare(b.instance) || a.address.localeCompare(b.address);
}
