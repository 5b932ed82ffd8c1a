/**
 * "May A call B?" answered offline, in a unit test, against the synthesized mesh — with exactly
 * the `authorize` the proxy runs, plus the one transport fact authz cannot see: a plaintext
 * caller never reaches a STRICT port. Closes Istio's "RBAC: access denied, but which policy?" gap.
 * A `tcp` port is asked at connection level (`authorizeTcp`), as its sidecar decides it.
 */
import { WeftError } from './errors';
import { authorize, authorizeTcp, Decision } from './authz';
import { buildModel } from './build-model';
import type { MeshModel, ServiceModel } from './model';
import { API_VERSION, WeftResource } from './resources';

/** The caller: a meshed service (it speaks mTLS with its identity) or an unmeshed, plaintext one. */
export type MayCallSource = { readonly service: string; readonly namespace?: string } | 'unmeshed';

/** One question. */
export interface MayCallQuery {
  readonly from: MayCallSource;
  readonly to: {
    readonly service: string;
    /** @default 'default' */
    readonly namespace?: string;
    /** Service port (number) or port name. @default the service's first port */
    readonly port?: number | string;
  };
  /** Ignored for a `tcp` port (a connection has no method). @default 'GET' */
  readonly method?: string;
  /** Ignored for a `tcp` port (a connection has no path). @default '/' */
  readonly path?: string;
}

/** A mesh in any form a test holds: the model, weft resources, a synthesized manifest list, a cdk8s Chart/App, or a buildModel result. */
export type MeshInput =
  | MeshModel
  | { readonly model: MeshModel }
  | readonly unknown[]
  | { toJson(): unknown[] };

/** The decision plus what it was evaluated against. */
export interface MayCallDecision extends Decision {
  /** The caller's principal as the destination sees it (undefined: plaintext). */
  readonly principal?: string;
  /** Effective mTLS mode of the destination port. */
  readonly mtlsMode: string;
  readonly port: number;
  /**
   * How the question was judged: `tcp` for an opaque TCP port (per connection: identity and port
   * only, Istio's L4 rules), `http` otherwise (per request).
   */
  readonly protocol: 'http' | 'tcp';
}

const isModel = (m: unknown): m is MeshModel =>
  typeof m === 'object' && m !== null && 'mesh' in m && 'services' in m && 'policies' in m;

/** Resolves any MeshInput to the model the control plane would build (endpoints are irrelevant to authz). */
export function meshModelOf(mesh: MeshInput): MeshModel {
  if (isModel(mesh)) return mesh;
  if (!Array.isArray(mesh) && typeof mesh === 'object' && mesh !== null && 'model' in mesh && isModel(mesh.model)) return mesh.model;
  const objects: unknown[] = Array.isArray(mesh) ? mesh : (mesh as { toJson(): unknown[] }).toJson();
  const weft = objects.filter((o) => (o as { apiVersion?: unknown })?.apiVersion === API_VERSION) as WeftResource<unknown>[];
  return buildModel(weft, []).model;
}

function findService(model: MeshModel, name: string, namespace: string): ServiceModel {
  const s = model.services.find((x) => x.name === name && x.namespace === namespace);
  if (!s) {
    const known = model.services.map((x) => `${x.namespace}/${x.name}`).join(', ') || 'none';
    throw new WeftError('WEFT_ERR_MAY_CALL_UNKNOWN_SERVICE', `no MeshService ${namespace}/${name} in the mesh (known: ${known})`);
  }
  return s;
}

/**
 * Whether `query.from` may call `query.to` with `method path`, and why. Throws
 * WEFT_ERR_MAY_CALL_UNKNOWN_SERVICE / …_UNKNOWN_PORT when the query names something absent.
 */
export function mayCall(mesh: MeshInput, query: MayCallQuery): MayCallDecision {
  const model = meshModelOf(mesh);
  const dest = findService(model, query.to.service, query.to.namespace ?? 'default');
  const portModel = query.to.port === undefined
    ? dest.ports[0]
    : dest.ports.find((p) => p.port === query.to.port || p.name === query.to.port);
  if (!portModel) {
    throw new WeftError('WEFT_ERR_MAY_CALL_UNKNOWN_PORT', `${dest.namespace}/${dest.name} has no port ${String(query.to.port ?? '(none declared)')}`);
  }
  const mtlsMode = dest.mtlsModes[portModel.port] ?? model.mesh.defaultMtlsMode;
  const caller = query.from === 'unmeshed' ? undefined : findService(model, query.from.service, query.from.namespace ?? 'default');
  // A meshed caller speaks mTLS unless the port disables it; then it arrives as plaintext too.
  const principal = caller && mtlsMode !== 'DISABLE' ? caller.identity : undefined;
  const protocol = portModel.protocol === 'tcp' ? 'tcp' : 'http';
  const base = { mtlsMode, port: portModel.port, principal, protocol } as const;
  if (!caller && mtlsMode === 'STRICT') {
    return { ...base, allowed: false, reason: 'plaintext_refused', audited: [], detail: `port ${portModel.port} of ${dest.namespace}/${dest.name} is STRICT mTLS` };
  }
  const destination = { service: dest.name, namespace: dest.namespace };
  const options = { defaultInboundPolicy: model.mesh.defaultInboundPolicy };
  if (protocol === 'tcp') {
    // The sidecar takes opaque TCP only over mTLS (ALPN weft-tcp); plaintext bytes are read as HTTP.
    if (principal === undefined) {
      return { ...base, allowed: false, reason: 'plaintext_refused', audited: [], detail: `port ${portModel.port} of ${dest.namespace}/${dest.name} is opaque TCP, which a sidecar accepts only over mTLS` };
    }
    return { ...base, ...authorizeTcp(model.policies, { principal, destination, port: portModel.port }, options) };
  }
  const decision = authorize(
    model.policies,
    { principal, destination, port: portModel.port, path: query.path ?? '/', method: query.method ?? 'GET' },
    options,
  );
  return { ...base, ...decision };
}
