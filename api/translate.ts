/**
 * translate(): the mesh model → xDS v3 resources for one kind of client. Pure: the control plane
 * calls it per connected node at run time, the constructs at synth time. Every route's clusters
 * exist and every EDS cluster has a ClusterLoadAssignment, by construction.
 */
import { isIP } from 'net';
import { WeftError } from './errors';
import type { EndpointModel, MeshModel, ServiceModel } from './model';
import type { XdsObject } from './xds/codec';
import { serviceClusters } from './xds/clusters';
import { inboundClusterResource, inboundListener, OUTBOUND, outboundHttpListener, outboundTcpListener, proxylessListener } from './xds/listeners';
import { renderRoutes } from './xds/routes';
import { authority, isHttp, SERVICE_PORT_HEADER } from './xds/util';

/** Who the resources are for: a weft sidecar of one service version, or a proxyless gRPC client. */
export type ClientKind =
  | { readonly kind: 'sidecar'; readonly node: { readonly service: string; readonly namespace: string; readonly version: string } }
  | { readonly kind: 'proxyless' };

/** xDS resources in the codec's object form, by type. */
export interface XdsResources {
  readonly listeners: XdsObject[];
  readonly routes: XdsObject[];
  readonly clusters: XdsObject[];
  readonly endpoints: XdsObject[];
}

/** The model cannot be translated (it breaks an invariant buildModel guarantees). */
export class TranslateError extends WeftError {
  constructor(code: string, message: string) {
    super(code, message);
    this.name = 'TranslateError';
  }
}

const key = (ns: string, name: string) => `${ns}/${name}`;

/** Throws a coded TranslateError naming the first broken invariant of `model`. */
export function checkModel(model: MeshModel): void {
  const seen = new Set<string>();
  for (const s of model.services) {
    const k = key(s.namespace, s.name);
    if (seen.has(k)) throw new TranslateError('WEFT_ERR_TRANSLATE_DUPLICATE_SERVICE', `service ${k} appears twice in the model`);
    seen.add(k);
  }
  for (const s of model.services) {
    const k = key(s.namespace, s.name);
    if (!s.ports.length) throw new TranslateError('WEFT_ERR_TRANSLATE_NO_PORTS', `service ${k} has no ports`);
    if (!s.versions.length) throw new TranslateError('WEFT_ERR_TRANSLATE_NO_VERSIONS', `service ${k} has no versions`);
    const versions = new Set(s.versions.map((v) => v.name));
    const last = s.routes[s.routes.length - 1];
    if (!last || last.matches.length || last.port !== undefined) {
      throw new TranslateError('WEFT_ERR_TRANSLATE_NO_DEFAULT_ROUTE', `service ${k}: the last route must match every request on every port (the default route)`);
    }
    for (const r of s.routes) {
      for (const v of [...r.backends.map((b) => b.version), ...(r.mirror ? [r.mirror.version] : [])]) {
        if (!versions.has(v)) throw new TranslateError('WEFT_ERR_TRANSLATE_UNKNOWN_VERSION', `service ${k} route ${r.name}: version ${v} does not exist`);
      }
      if (!r.redirect && !r.directResponse && r.backends.reduce((n, b) => n + Math.max(0, b.weight), 0) <= 0) {
        throw new TranslateError('WEFT_ERR_TRANSLATE_INVALID_WEIGHTS', `service ${k} route ${r.name}: backend weights sum to 0`);
      }
      if (r.port !== undefined && !s.ports.some((p) => p.name === r.port)) {
        throw new TranslateError('WEFT_ERR_TRANSLATE_UNKNOWN_PORT', `service ${k} route ${r.name}: port ${r.port} does not exist`);
      }
    }
    for (const c of s.calls) {
      if (!seen.has(key(c.namespace, c.name))) throw new TranslateError('WEFT_ERR_TRANSLATE_UNKNOWN_SERVICE', `service ${k} calls ${key(c.namespace, c.name)}, which is not in the model`);
    }
  }
  for (const e of model.endpoints) {
    if (isIP(e.address) === 0) throw new TranslateError('WEFT_ERR_TRANSLATE_INVALID_ENDPOINT', `endpoint ${e.instance} of ${key(e.namespace, e.service)}: address ${JSON.stringify(e.address)} is not an IP literal`);
  }
}

function endpointIndex(endpoints: readonly EndpointModel[]): (s: ServiceModel) => (version: string) => readonly EndpointModel[] {
  const idx = new Map<string, EndpointModel[]>();
  for (const e of endpoints) {
    const k = `${e.namespace}/${e.service}|${e.version}`;
    const list = idx.get(k);
    if (list) list.push(e); else idx.set(k, [e]);
  }
  return (s) => (v) => idx.get(`${s.namespace}/${s.name}|${v}`) ?? [];
}

function renderProxyless(model: MeshModel): XdsResources {
  const out: XdsResources = { listeners: [], routes: [], clusters: [], endpoints: [] };
  const eps = endpointIndex(model.endpoints);
  for (const s of model.services) {
    const http = s.ports.filter(isHttp);
    http.forEach((port, i) => {
      const name = authority(s, port.port);
      out.listeners.push(proxylessListener(name, name));
      // `xds:///<service>.<namespace>` (no port) resolves to the first HTTP port.
      if (i === 0) out.listeners.push(proxylessListener(`${s.name}.${s.namespace}`, name));
      out.routes.push({ name, virtual_hosts: [{ name, domains: ['*'], routes: renderRoutes(s, port, true) }] });
    });
    const c = serviceClusters(s, http, eps(s), true);
    out.clusters.push(...c.clusters);
    out.endpoints.push(...c.endpoints);
  }
  return out;
}

/** Host names an app may use for `svc` on `port`; the bare name only inside its own namespace. */
function domainsOf(s: ServiceModel, port: number, firstHttp: boolean, sameNamespace: boolean): string[] {
  const hosts = [`${s.name}.${s.namespace}`, `${s.name}.${s.namespace}.svc`, `${s.name}.${s.namespace}.svc.cluster.local`];
  if (sameNamespace) hosts.unshift(s.name);
  return [...hosts.map((h) => `${h}:${port}`), ...(firstHttp ? hosts : [])];
}

function renderSidecar(model: MeshModel, node: { service: string; namespace: string }): XdsResources {
  const out: XdsResources = { listeners: [], routes: [], clusters: [], endpoints: [] };
  const eps = endpointIndex(model.endpoints);
  const self = model.services.find((s) => s.name === node.service && s.namespace === node.namespace);
  // Outbound scope: the declared calls when there are any, else every service in the mesh.
  const targets = self && self.calls.length
    ? model.services.filter((s) => self.calls.some((c) => c.name === s.name && c.namespace === s.namespace))
    : model.services;
  const vhosts: XdsObject[] = [];
  const used = new Set<string>();
  for (const s of targets) {
    const http = s.ports.filter(isHttp);
    http.forEach((port, i) => {
      const domains = domainsOf(s, port.port, i === 0, s.namespace === node.namespace).filter((d) => !used.has(d));
      domains.forEach((d) => used.add(d));
      vhosts.push({
        name: authority(s, port.port), domains, routes: renderRoutes(s, port, false),
        // the callee's sidecar serves every port on one inbound port: name the service port (proxy/inbound/service-port.ts)
        request_headers_to_add: [{ header: { key: SERVICE_PORT_HEADER, value: String(port.port) }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' }],
      });
    });
    for (const port of s.ports.filter((p) => !isHttp(p))) out.listeners.push(outboundTcpListener(s, port));
    const c = serviceClusters(s, s.ports, eps(s), false);
    out.clusters.push(...c.clusters);
    out.endpoints.push(...c.endpoints);
  }
  out.listeners.unshift(outboundHttpListener());
  out.routes.push({ name: OUTBOUND, virtual_hosts: vhosts });
  if (self) {
    out.listeners.push(inboundListener(self, model.policies.find((p) => p.service === self.name && p.namespace === self.namespace), model.mesh));
    for (const p of self.ports) out.clusters.push(inboundClusterResource(self, p));
  }
  return out;
}

/**
 * Renders `model` for `client`. Throws a `WEFT_ERR_TRANSLATE_*` TranslateError when the model
 * breaks an invariant (unknown version, zero weights, missing default route, non-IP endpoint).
 */
export function translate(model: MeshModel, client: ClientKind): XdsResources {
  checkModel(model);
  return client.kind === 'proxyless' ? renderProxyless(model) : renderSidecar(model, client.node);
}
