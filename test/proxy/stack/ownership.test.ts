/** One ConfigCell feeds both stacks; each balances only its own clusters (no duplicated state or gauges). */
import { Registry } from 'prom-client';
import { ConfigCell, parseXds } from '../../../proxy/config';
import { buildInboundHandler } from '../../../proxy/inbound/stack';
import { buildOutboundHandler } from '../../../proxy/outbound/stack';
import { TYPES, cla, cluster, listener, routeConfig, textResponse } from '../../support/proxy-fixtures';

test('GIVEN inbound and outbound listeners in one config THEN the inbound stack owns the app cluster and the outbound stack the rest', () => {
  const cell = new ConfigCell(parseXds({
    listeners: [
      listener('outbound', 'outbound'),
      { name: 'inbound', traffic_direction: 'INBOUND', filter_chains: [{ filters: [{ typed_config: { '@type': TYPES.HCM, route_config: routeConfig('inbound|http', ['*'], [{ match: { prefix: '' }, route: { cluster: 'inbound|http' } }]), http_filters: [{ typed_config: { '@type': TYPES.ROUTER } }] } }] }] },
    ],
    routes: [routeConfig('outbound', ['reviews'], [{ match: { prefix: '' }, route: { cluster: 'reviews|v1' } }])],
    clusters: [cluster('reviews|v1'), { name: 'inbound|http', type: 'STATIC', load_assignment: { cluster_name: 'inbound|http', endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: 8080 } } } }] }] } }],
    endpoints: [cla('reviews|v1', ['10.0.0.1:15006'])],
  }));
  const deps = { endpointClient: () => async () => textResponse(200), metrics: new Registry() };
  const out = buildOutboundHandler(cell, deps);
  const inb = buildInboundHandler(cell, deps);
  expect(out.backends.get('reviews|v1')).toBeDefined();
  expect(out.backends.get('inbound|http')).toBeUndefined();
  expect(inb.backends.get('inbound|http')).toBeDefined();
  expect(inb.backends.get('reviews|v1')).toBeUndefined();
  out.close();
  inb.close();
});
