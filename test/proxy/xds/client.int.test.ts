/**
 * The proxy's ADS client against weft's real ADS server (control-plane/xds) on 127.0.0.1:0:
 * subscription, self-registration metadata, NACK with per-resource errors (last good kept),
 * control-plane loss (config kept) and reconnect.
 */
import { AdsServer } from '../../../control-plane/xds/ads-server';
import { SnapshotCache } from '../../../control-plane/xds/cache';
import type { ConnectedNode } from '../../../control-plane/xds/wire';
import type { MeshModel } from '../../../api/model';
import type { XdsResources } from '../../../api/translate';
import { ConfigCell } from '../../../proxy/config';
import { XdsClient } from '../../../proxy/xds/client';
import { meshResources } from './resources';

let current: XdsResources = meshResources();
let generation = 0;
const cache = new SnapshotCache(() => current);
const bump = (r: XdsResources): void => {
  current = r;
  cache.setModel({ generation: ++generation } as unknown as MeshModel);
};

const node = { id: 'web-1', service: 'web', namespace: 'default', version: 'v1', address: '127.0.0.1', ports: { http: 15006 } };
const clients: XdsClient[] = [];
const servers: AdsServer[] = [];

afterAll(async () => {
  for (const c of clients) c.stop();
  for (const s of servers) await s.close(100);
});

function until(cond: () => boolean, what: string, ms = 10_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const start = Date.now();
    const t = setInterval(() => {
      if (cond()) {
        clearInterval(t);
        resolve();
      } else if (Date.now() - start > ms) {
        clearInterval(t);
        reject(new Error(`timed out waiting for ${what}`));
      }
    }, 20);
  });
}

test('subscribes LDS/CDS then RDS/EDS, ACKs, and registers itself', async () => {
  bump(meshResources());
  const connected: ConnectedNode[] = [];
  const server = new AdsServer({ cache, onNodeConnected: (n) => connected.push(n) });
  servers.push(server);
  const port = await server.listen(0);
  const cell = new ConfigCell();
  const updates: string[] = [];
  const client = new XdsClient({ server: `127.0.0.1:${port}`, node, cell, onUpdate: (t, r) => updates.push(`${t}:${r}`) });
  clients.push(client);
  client.start();
  await client.ready;
  const cfg = cell.get();
  expect([...cfg.listeners.keys()]).toEqual(['outbound']);
  expect([...cfg.routes.keys()]).toEqual(['outbound']);
  expect([...cfg.clusters.keys()]).toEqual(['svc-v1']);
  expect(cfg.endpoints.get('svc-v1')?.endpoints[0]).toMatchObject({ address: '127.0.0.1', port: 9 });
  expect(updates.every((u) => u.endsWith(':ack'))).toBe(true);
  // the control plane saw a weft sidecar with its self-registration endpoint
  expect(connected[0]).toMatchObject({ kind: 'sidecar', service: 'web', namespace: 'default', version: 'v1', endpoint: { address: '127.0.0.1', ports: { http: 15006 } } });
  // and recorded ACKs in its ledger (no NACK)
  expect(client.status().connected).toBe(true);
  expect(client.status().lastErrors).toEqual({});

  // WHEN an invalid route (weights summing to 0) is pushed
  bump(meshResources({ weight: 0 }));
  await until(() => client.status().lastErrors.route !== undefined, 'route NACK');
  // THEN the client NACKs with the parser's per-resource error and keeps the last good route
  expect(client.status().lastErrors.route).toMatch(/weight/i);
  const route = cell.get().routes.get('outbound')!;
  expect(JSON.stringify(route.virtualHosts[0].routes[0].action)).toContain('svc-v1');
  expect(updates).toContain('route:nack');

  // WHEN a valid change follows, it is ACKed and applied
  bump(meshResources({ port: 10 }));
  await until(() => cell.get().endpoints.get('svc-v1')?.endpoints[0].port === 10, 'new endpoints');
  await until(() => client.status().lastErrors.route === undefined, 'route ACK');
});

test('control plane loss: the config is kept; after a restart the client reconnects and takes the new snapshot', async () => {
  bump(meshResources({ port: 20 }));
  const server = new AdsServer({ cache });
  const port = await server.listen(0);
  const cell = new ConfigCell();
  const client = new XdsClient({ server: `127.0.0.1:${port}`, node, cell, initialBackoffMs: 50, maxBackoffMs: 200 });
  clients.push(client);
  client.start();
  await client.ready;
  await server.close(50);
  await until(() => !client.status().connected, 'disconnect');
  // still serving the last config
  expect(cell.get().endpoints.get('svc-v1')?.endpoints[0].port).toBe(20);
  // a new control plane on the same port with a newer snapshot
  bump(meshResources({ port: 21 }));
  const again = new AdsServer({ cache });
  servers.push(again);
  await again.listen(port);
  await until(() => cell.get().endpoints.get('svc-v1')?.endpoints[0].port === 21, 'new snapshot after reconnect');
  expect(client.status().reconnects).toBeGreaterThanOrEqual(1);
});
