/**
 * Listeners: the `api_listener` form proxyless gRPC requires, and the sidecar's outbound (HTTP via
 * RDS, TCP via tcp_proxy) and inbound listeners. Authorization travels in `filter_metadata.weft`.
 */
import type { MeshSettings, PolicyModel, PortModel, ServiceModel } from '../model';
import { RESERVED_PORTS } from '../bootstrap';
import type { XdsObject } from './codec';
import { TYPES } from './protos';
import { weftMeta } from './metadata';
import { ADS_SOURCE, FILTER, versionCluster } from './util';

/** HTTP filters every HCM carries: fault (per-route overrides need it present), router last. */
const HTTP_FILTERS: readonly XdsObject[] = [
  { name: FILTER.FAULT, typed_config: { '@type': TYPES.FAULT } },
  { name: FILTER.ROUTER, typed_config: { '@type': TYPES.ROUTER } },
];

function hcmRds(statPrefix: string, routeConfigName: string): XdsObject {
  return { '@type': TYPES.HCM, stat_prefix: statPrefix, rds: { route_config_name: routeConfigName, config_source: ADS_SOURCE }, http_filters: HTTP_FILTERS.map((f) => ({ ...f })) };
}

const addr = (address: string, port: number) => ({ socket_address: { address, port_value: port } });

/** The Listener a proxyless client resolves for `xds:///<name>`: an api_listener whose HCM points at RDS `routeConfigName`. */
export function proxylessListener(name: string, routeConfigName: string): XdsObject {
  return { name, api_listener: { api_listener: hcmRds(name, routeConfigName) } };
}

/** Name of the sidecar's outbound HTTP listener and of its route configuration. */
export const OUTBOUND = 'outbound';
/** Name of the sidecar's inbound listener. */
export const INBOUND = 'inbound';

/** The sidecar's outbound HTTP listener (one for every HTTP service; virtual hosts pick the service by authority). */
export function outboundHttpListener(): XdsObject {
  return {
    name: OUTBOUND,
    address: addr('127.0.0.1', RESERVED_PORTS.outbound),
    filter_chains: [{ filters: [{ name: FILTER.HCM, typed_config: hcmRds(OUTBOUND, OUTBOUND) }] }],
    metadata: weftMeta('listener', { direction: 'outbound' }),
  };
}

/** An outbound TCP listener for one tcp port of `svc`: tcp_proxy split across versions by the default route. */
export function outboundTcpListener(svc: ServiceModel, port: PortModel): XdsObject {
  const last = svc.routes[svc.routes.length - 1];
  const backends = (last?.backends ?? []).filter((b) => b.weight > 0);
  const target = backends.length === 1
    ? { cluster: versionCluster(svc, backends[0].version, port) }
    : { weighted_clusters: { clusters: backends.map((b) => ({ name: versionCluster(svc, b.version, port), weight: b.weight })) } };
  const name = `outbound|${svc.name}.${svc.namespace}:${port.port}`;
  return {
    name,
    address: addr('0.0.0.0', port.port),
    filter_chains: [{ filters: [{ name: FILTER.TCP_PROXY, typed_config: { '@type': TYPES.TCP_PROXY, stat_prefix: name, ...target } }] }],
    metadata: weftMeta('listener', { direction: 'outbound', service: svc.name, namespace: svc.namespace, port: port.name, servicePort: port.port, protocol: 'tcp' }),
  };
}

/** Name of the local-app cluster behind inbound port `port`. */
export function inboundCluster(port: PortModel): string {
  return `inbound|${port.name}`;
}

/**
 * The sidecar's inbound listener: one filter chain per service port (matched on the destination
 * port = targetPort, or on the chain name `inbound|<port name>`), each forwarding to the local app.
 */
export function inboundListener(svc: ServiceModel, policy: PolicyModel | undefined, mesh: MeshSettings): XdsObject {
  const chains = svc.ports.map((p) => {
    const cluster = inboundCluster(p);
    const filter = p.protocol === 'tcp'
      ? { name: FILTER.TCP_PROXY, typed_config: { '@type': TYPES.TCP_PROXY, stat_prefix: cluster, cluster } }
      : {
        name: FILTER.HCM,
        typed_config: {
          '@type': TYPES.HCM,
          stat_prefix: cluster,
          route_config: { name: cluster, virtual_hosts: [{ name: cluster, domains: ['*'], routes: [{ name: cluster, match: { prefix: '' }, route: { cluster } }] }] },
          http_filters: HTTP_FILTERS.map((f) => ({ ...f })),
        },
      };
    return {
      name: cluster,
      filter_chain_match: { destination_port: { value: p.targetPort } },
      filters: [filter],
      metadata: weftMeta('filterChain', { port: p.name, servicePort: p.port, targetPort: p.targetPort, protocol: p.protocol, mtlsMode: svc.mtlsModes[p.port] ?? mesh.defaultMtlsMode }),
    };
  });
  const rl = svc.trafficPolicy.rateLimit;
  return {
    name: INBOUND,
    address: addr('0.0.0.0', RESERVED_PORTS.inbound),
    filter_chains: chains,
    metadata: weftMeta('listener', {
      direction: 'inbound',
      service: svc.name,
      namespace: svc.namespace,
      identity: svc.identity,
      trustDomain: mesh.trustDomain,
      authz: {
        defaultPolicy: mesh.defaultInboundPolicy,
        rules: (policy?.rules ?? []).map((r) => ({ id: r.id, action: r.action, from: r.from.map((f) => ({ principals: [...f.principals], namespaces: [...f.namespaces] })), to: r.to.map((t) => ({ paths: [...t.paths], methods: [...t.methods], ports: [...t.ports] })) })),
      },
      ...(rl ? { rateLimit: { requestsPerSecond: rl.requestsPerSecond, burst: rl.burst } } : {}),
    }),
  };
}

/** The STATIC cluster of the local app behind inbound port `port` (127.0.0.1:targetPort). */
export function inboundClusterResource(svc: ServiceModel, port: PortModel): XdsObject {
  const name = inboundCluster(port);
  return {
    name,
    type: 'STATIC',
    lb_policy: 'ROUND_ROBIN',
    load_assignment: {
      cluster_name: name,
      endpoints: [{ locality: {}, load_balancing_weight: { value: 1 }, lb_endpoints: [{ endpoint: { address: addr('127.0.0.1', port.targetPort) } }] }],
    },
    metadata: weftMeta('cluster', { direction: 'inbound', service: svc.name, namespace: svc.namespace, port: port.name, protocol: port.protocol }),
  };
}
