/** Shared pieces of the opaque-TCP listener tests: xDS shapes for a tcp_proxy chain and a static cluster, and a free port. */
import * as net from 'node:net';
import { closeServer, listen } from '../http/util';

export const TCP_PROXY = 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy';

/** A port that was free a moment ago (for listeners that must be named in a config before they open). */
export async function freePort(): Promise<number> {
  const s = net.createServer();
  const p = await listen(s);
  await closeServer(s);
  return p;
}

/** The filters of a tcp_proxy chain sending to `cluster`. */
export const tcpFilter = (cluster: string) => [{ name: 'envoy.filters.network.tcp_proxy', typed_config: { '@type': TCP_PROXY, stat_prefix: cluster, cluster } }];

/** A STATIC cluster with one endpoint 127.0.0.1:`port`; `identity` is the SPIFFE ID its sidecar must present. */
export const staticCluster = (name: string, port: number, identity?: string) => ({
  name, type: 'STATIC',
  ...(identity ? { metadata: { filter_metadata: { weft: { identity } } } } : {}),
  load_assignment: { cluster_name: name, endpoints: [{ locality: {}, load_balancing_weight: { value: 1 }, lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: port } } } }] }] },
});

/** Sends `text` and resolves with what came back before the connection closed (ends once `text` is echoed). */
export function echoUntilClosed(port: number, text: string): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    let out = '';
    s.on('data', (d) => {
      out += d;
      if (out.includes(text)) s.end();
    });
    s.on('error', () => undefined);
    s.on('close', () => resolve(out));
    s.write(text);
  });
}
