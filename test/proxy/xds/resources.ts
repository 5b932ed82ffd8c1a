/** Small xDS resource sets (object form) for the xDS client tests. */
import type { XdsObject } from '../../../api/xds/codec';
import type { XdsResources } from '../../../api/translate';
import { outboundHttpListener } from '../../../api/xds/listeners';

const TYPES_ROUTER = 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router';
void TYPES_ROUTER;

/** A route table `outbound` sending every request for `svc` to cluster `cluster`, plus that cluster and its endpoints. */
export function meshResources(opts: { cluster?: string; weight?: number; port?: number } = {}): XdsResources {
  const cluster = opts.cluster ?? 'svc-v1';
  const route: XdsObject = {
    name: 'outbound',
    virtual_hosts: [{
      name: 'svc', domains: ['svc', 'svc:80'],
      routes: [{ name: 'svc/default', match: { prefix: '/' }, route: opts.weight === 0 ? { weighted_clusters: { clusters: [{ name: cluster, weight: { value: 0 } }] } } : { cluster } }],
    }],
  };
  const c: XdsObject = { name: cluster, type: 'EDS', lb_policy: 'ROUND_ROBIN', eds_cluster_config: { eds_config: { ads: {} }, service_name: cluster } };
  const cla: XdsObject = {
    cluster_name: cluster,
    endpoints: [{ locality: {}, load_balancing_weight: { value: 1 }, lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: opts.port ?? 9 } } } }] }],
  };
  return { listeners: [outboundHttpListener()], routes: [route], clusters: [c], endpoints: [cla] };
}
