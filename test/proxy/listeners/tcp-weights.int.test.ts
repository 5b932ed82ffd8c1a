/**
 * Outbound opaque TCP picks the version by the tcp_proxy weights (weighted_clusters), with real
 * sockets: N connections through the listener to two named TCP servers; plus the pure weighted
 * draw as a property, and the parsed tcp_proxy targets.
 */
import * as net from 'node:net';
import fc from 'fast-check';
import { ConfigCell, parseXds } from '../../../proxy/config';
import { OutboundTcpListeners, listenerServicePort, pickWeighted, tcpClusters } from '../../../proxy/listeners/tcp';
import { seededRandom } from '../../support/proxy-fixtures';
import { closeServer, listen } from '../http/util';
import { freePort, staticCluster, TCP_PROXY as TCP } from './tcp-fixtures';
import { expectBinomial } from '../../support/stats';

const servers: net.Server[] = [];
const sockets = new Set<net.Socket>();
let listeners: OutboundTcpListeners | undefined;

afterAll(async () => {
  await listeners?.drain(0);
  for (const s of sockets) s.destroy();
  await Promise.all(servers.map(closeServer));
});

/** A TCP server that writes its name on connect and closes. */
async function named(name: string): Promise<number> {
  const s = net.createServer((c) => {
    sockets.add(c);
    c.on('close', () => sockets.delete(c));
    c.on('error', () => undefined);
    c.end(name);
  });
  servers.push(s);
  return listen(s);
}


const tcpListener = (port: number, target: Record<string, unknown>) => ({
  name: 'outbound|db.default:5432', address: { socket_address: { address: '127.0.0.1', port_value: port } },
  filter_chains: [{ filters: [{ name: 'envoy.filters.network.tcp_proxy', typed_config: { '@type': TCP, stat_prefix: 'db', ...target } }] }],
  metadata: { filter_metadata: { weft: { direction: 'outbound', protocol: 'tcp', servicePort: 5432 } } },
});

function readAll(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    let out = '';
    s.on('data', (d) => (out += d));
    s.on('error', reject);
    s.on('close', () => resolve(out));
  });
}


test('GIVEN tcp_proxy weighted_clusters 80/20 THEN connections split by weight (exact binomial band over 300 real connections)', async () => {
  const v1 = await named('v1');
  const v2 = await named('v2');
  const port = await freePort();
  const config = parseXds({
    listeners: [tcpListener(port, { weighted_clusters: { clusters: [{ name: 'db.default|v1', weight: { value: 80 } }, { name: 'db.default|v2', weight: { value: 20 } }] } })],
    clusters: [staticCluster('db.default|v1', v1), staticCluster('db.default|v2', v2)],
  });
  const cell = new ConfigCell(config);
  listeners = new OutboundTcpListeners({ cell, random: seededRandom(5) });
  await listeners.reconcile();
  expect(listeners.ports().get('outbound|db.default:5432')).toBe(port);
  const n = 300;
  const seen: Record<string, number> = {};
  let sent = 0;
  await Promise.all(Array.from({ length: 8 }, async () => {
    while (sent < n) {
      sent++;
      const who = await readAll(port);
      seen[who] = (seen[who] ?? 0) + 1;
    }
  }));
  expect((seen.v1 ?? 0) + (seen.v2 ?? 0)).toBe(n);
  expectBinomial(`connections to v2 of ${n} at weight 20/100`, seen.v2 ?? 0, n, 0.2);

  // WHEN the weights move to 0/100 THEN every new connection goes to v2
  cell.set(parseXds({
    listeners: [tcpListener(port, { weighted_clusters: { clusters: [{ name: 'db.default|v1', weight: { value: 0 } }, { name: 'db.default|v2', weight: { value: 100 } }] } })],
    clusters: [staticCluster('db.default|v1', v1), staticCluster('db.default|v2', v2)],
  }));
  for (let i = 0; i < 10; i++) expect(await readAll(port)).toBe('v2');
});

test('GIVEN any weights THEN the weighted draw converges to them (property, exact binomial band over 2000 draws)', () => {
  fc.assert(fc.property(fc.array(fc.integer({ min: 1, max: 100 }), { minLength: 1, maxLength: 5 }), fc.integer(), (weights, seed) => {
    const items = weights.map((weight, i) => ({ i, weight }));
    const random = seededRandom(seed);
    const n = 2000;
    const counts = new Array<number>(items.length).fill(0);
    for (let k = 0; k < n; k++) counts[pickWeighted(items, random)!.i]++;
    const total = weights.reduce((a, b) => a + b, 0);
    weights.forEach((w, i) => {
      const p = w / total;
      expectBinomial(`draws of item ${i} (weight ${w}/${total})`, counts[i], n, p);
    });
  }), { numRuns: 40 });
  expect(pickWeighted([], Math.random)).toBeUndefined();
  expect(pickWeighted([{ weight: 0 }], Math.random)).toBeUndefined();
});

test('GIVEN tcp_proxy cluster, weighted_clusters, or no target THEN tcpClusters reads them (naming convention only as the fallback)', () => {
  const clusters = [staticCluster('db.default|v1', 1), staticCluster('db.default|v2', 2), staticCluster('other', 3)];
  const one = parseXds({ listeners: [tcpListener(1, { cluster: 'other' })], clusters });
  const l1 = one.listeners.get('outbound|db.default:5432')!;
  expect(tcpClusters(one, l1).map((c) => [c.cluster.name, c.weight])).toEqual([['other', 1]]);
  expect(listenerServicePort(l1)).toBe(5432);
  const w = parseXds({ listeners: [tcpListener(1, { weighted_clusters: { clusters: [{ name: 'db.default|v2', weight: { value: 3 } }, { name: 'missing', weight: { value: 1 } }] } })], clusters });
  expect(tcpClusters(w, w.listeners.get('outbound|db.default:5432')!).map((c) => [c.cluster.name, c.weight])).toEqual([['db.default|v2', 3]]);
  const none = parseXds({ listeners: [tcpListener(1, {})], clusters });
  expect(tcpClusters(none, none.listeners.get('outbound|db.default:5432')!).map((c) => c.cluster.name)).toEqual(['db.default|v1', 'db.default|v2']);
  expect(() => parseXds({ listeners: [tcpListener(1, { weighted_clusters: { clusters: [{ name: 'a', weight: { value: 0 } }] } })], clusters })).toThrow(/sum of weights is 0/);
});
