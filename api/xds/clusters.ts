/**
 * Clusters (one per service version and port) and their ClusterLoadAssignments. Settings Envoy has
 * no field for (peak-EWMA, the endpoints' SPIFFE identity, the mTLS mode) go in `filter_metadata.weft`.
 */
import type { EndpointModel, PortModel, ServiceModel } from '../model';
import type { LbPolicy } from '../resources';
import type { XdsObject } from './codec';
import { type ClusterMetadata, weftMeta } from './metadata';
import { ADS_SOURCE, dur, versionCluster } from './util';

const ENVOY_LB: Record<LbPolicy, string> = {
  'peak-ewma': 'LEAST_REQUEST',
  'round-robin': 'ROUND_ROBIN',
  'least-request': 'LEAST_REQUEST',
  'consistent-hash': 'RING_HASH',
};

function outlier(svc: ServiceModel): XdsObject | undefined {
  const od = svc.trafficPolicy.outlierDetection;
  if (!od) return undefined;
  return {
    ...(od.consecutive5xx !== undefined ? { consecutive_5xx: { value: od.consecutive5xx } } : { enforcing_consecutive_5xx: { value: 0 } }),
    ...(od.consecutiveGatewayErrors !== undefined ? { consecutive_gateway_failure: { value: od.consecutiveGatewayErrors }, enforcing_consecutive_gateway_failure: { value: 100 } } : {}),
    interval: dur(od.intervalMs),
    base_ejection_time: dur(od.baseEjectionTimeMs),
    max_ejection_percent: { value: od.maxEjectionPercent },
    ...(od.successRate ? {
      success_rate_minimum_hosts: { value: od.successRate.minimumHosts },
      success_rate_request_volume: { value: od.successRate.requestVolume },
      success_rate_stdev_factor: { value: Math.round(od.successRate.stdevFactor * 1000) },
      enforcing_success_rate: { value: 100 },
    } : { enforcing_success_rate: { value: 0 } }),
  };
}

function circuitBreakers(svc: ServiceModel): XdsObject | undefined {
  const c = svc.trafficPolicy.connectionLimits;
  const t: XdsObject = {
    ...(c.maxConnections !== undefined ? { max_connections: { value: c.maxConnections } } : {}),
    ...(c.maxPendingRequests !== undefined ? { max_pending_requests: { value: c.maxPendingRequests } } : {}),
    ...(c.maxRequests !== undefined ? { max_requests: { value: c.maxRequests } } : {}),
  };
  return Object.keys(t).length ? { thresholds: [t] } : undefined;
}

/**
 * The EDS cluster of `version` of `svc` on `port`. Proxyless clients only know ROUND_ROBIN and
 * RING_HASH, so peak-EWMA / least-request fall back to ROUND_ROBIN there.
 */
export function versionClusterResource(svc: ServiceModel, version: string, port: PortModel, proxyless: boolean): XdsObject {
  const name = versionCluster(svc, version, port);
  const policy = svc.trafficPolicy.loadBalancer.policy;
  const lb = proxyless ? (policy === 'consistent-hash' ? 'RING_HASH' : 'ROUND_ROBIN') : ENVOY_LB[policy];
  const od = outlier(svc);
  const cb = circuitBreakers(svc);
  const mrpc = svc.trafficPolicy.connectionLimits.maxRequestsPerConnection;
  const lbc = svc.trafficPolicy.loadBalancer;
  const weft: ClusterMetadata = {
    service: svc.name,
    namespace: svc.namespace,
    version,
    port: port.name,
    servicePort: port.port,
    protocol: port.protocol,
    lbPolicy: policy,
    identity: svc.identity,
    mtlsMode: svc.mtlsModes[port.port] ?? 'PERMISSIVE',
    ...(lbc.hashHeader ? { hashHeader: lbc.hashHeader } : {}),
    ...(lbc.hashCookie ? { hashCookie: lbc.hashCookie } : {}),
    ...(mrpc !== undefined ? { maxRequestsPerConnection: mrpc } : {}),
  };
  return {
    name,
    type: 'EDS',
    eds_cluster_config: { eds_config: ADS_SOURCE, service_name: name },
    lb_policy: lb,
    ...(od ? { outlier_detection: od } : {}),
    ...(cb ? { circuit_breakers: cb } : {}),
    ...(mrpc !== undefined ? { max_requests_per_connection: { value: mrpc } } : {}),
    metadata: weftMeta('cluster', weft),
  };
}

/**
 * The endpoints of one cluster: one locality (grpc-js drops a locality without a weight), IP
 * literals only, one entry per address:port; not-ready endpoints are DRAINING.
 */
export function loadAssignment(clusterName: string, port: PortModel, endpoints: readonly EndpointModel[]): XdsObject {
  const seen = new Set<string>();
  const lbEndpoints: XdsObject[] = [];
  for (const e of endpoints) {
    const p = e.ports[port.name];
    if (p === undefined) continue;
    const key = `${e.address}:${p}`;
    if (seen.has(key)) continue;
    seen.add(key);
    lbEndpoints.push({
      endpoint: { address: { socket_address: { address: e.address, port_value: p } } },
      health_status: e.ready ? 'HEALTHY' : 'DRAINING',
      metadata: weftMeta('endpoint', { instance: e.instance, meshed: e.meshed, version: e.version }),
    });
  }
  return {
    cluster_name: clusterName,
    endpoints: lbEndpoints.length ? [{ locality: {}, load_balancing_weight: { value: 1 }, lb_endpoints: lbEndpoints }] : [],
  };
}

/** Clusters and CLAs of every version of `svc` on every port in `ports`. */
export function serviceClusters(svc: ServiceModel, ports: readonly PortModel[], endpointsOf: (version: string) => readonly EndpointModel[], proxyless: boolean): { clusters: XdsObject[]; endpoints: XdsObject[] } {
  const clusters: XdsObject[] = [];
  const clas: XdsObject[] = [];
  for (const port of ports) {
    for (const v of svc.versions) {
      const name = versionCluster(svc, v.name, port);
      clusters.push(versionClusterResource(svc, v.name, port, proxyless));
      clas.push(loadAssignment(name, port, endpointsOf(v.name)));
    }
  }
  return { clusters, endpoints: clas };
}
