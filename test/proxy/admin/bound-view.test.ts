/** /config_dump shows the listeners where they are bound (weft up: loopback ports), keeping the config's pod address beside it. */
import { boundConfigView } from '../../../proxy/admin/bound-view';
import type { ListenerConfig, ProxyConfig } from '../../../proxy/config/types';

const listener = (name: string, direction: ListenerConfig['direction'], address: string, port: number): ListenerConfig =>
  ({ name, direction, address, port, routeTable: '', chains: [] }) as unknown as ListenerConfig;

test('inbound and the main outbound listener get the bound address; other listeners and the rest of the config are untouched', () => {
  const config = {
    version: 'v1', routes: new Map(), clusters: new Map(), endpoints: new Map(), inlineRouteNames: new Set<string>(),
    listeners: new Map([
      ['inbound', listener('inbound', 'inbound', '0.0.0.0', 15006)],
      ['outbound', listener('outbound', 'outbound', '127.0.0.1', 15001)],
      ['outbound-tcp-5432', listener('outbound-tcp-5432', 'outbound', '127.0.0.1', 5432)],
    ]),
  } as unknown as ProxyConfig;
  const view = boundConfigView(config, { inbound: '127.0.0.1:40001', outbound: '127.0.0.1:40002', admin: '127.0.0.1:40003' });
  expect(view.listeners.get('inbound')).toMatchObject({ address: '127.0.0.1', port: 40001, configuredAddress: '0.0.0.0:15006' });
  expect(view.listeners.get('outbound')).toMatchObject({ address: '127.0.0.1', port: 40002, configuredAddress: '127.0.0.1:15001' });
  expect(view.listeners.get('outbound-tcp-5432')).toBe(config.listeners.get('outbound-tcp-5432'));
  expect(view.routes).toBe(config.routes);
  expect(config.listeners.get('inbound')!.port).toBe(15006); // the live config is not modified
});
