/**
 * Boot with the control plane down (catalogue #21): not ready (no config, no certificate), inbound
 * mTLS fails closed, outbound requests fail fast with a reason instead of hanging.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { runProxy, type RunningProxy } from '../../../proxy/main';
import { closeServer, get, listen } from '../http/util';

let proxy: RunningProxy | undefined;
afterAll(async () => {
  await proxy?.shutdown();
});

test('control plane unreachable at boot: /ready is 503 with the reason; outbound fails fast', async () => {
  const dead = net.createServer();
  const deadPort = await listen(dead);
  await closeServer(dead);
  const tokenPath = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'weft-token-')), 'token');
  fs.writeFileSync(tokenPath, 'one-time-token');
  proxy = await runProxy({
    node: { id: 'web-1', service: 'web', namespace: 'default', version: 'v1', serviceAccount: 'web' },
    controlPlane: { xds: `127.0.0.1:${deadPort}` },
    ports: { inbound: 0, outbound: 0, admin: 0, app: { http: 1 } },
    bindAddress: '127.0.0.1',
    interception: 'explicit',
    identity: { trustDomain: 'weft.test', required: true, tokenPath },
    drainTimeout: '500ms',
  }, { log: () => undefined });
  const ready = await get(proxy.ports.admin, { path: '/ready' });
  expect(ready.status).toBe(503);
  expect(ready.body).toMatch(/no config yet|no certificate yet/);
  expect((await get(proxy.ports.admin, { path: '/live' })).status).toBe(200);
  // outbound: an answer with a reason, not a hang
  const r = await get(proxy.ports.outbound, { path: '/', headers: { host: 'backend' } });
  expect(r.status).toBeGreaterThanOrEqual(400);
  expect(r.headers['weft-error']).toBeDefined();
  // inbound mTLS has no certificate: connections are closed (fail closed)
  const closed = await new Promise<boolean>((resolve) => {
    const s = net.connect(proxy!.ports.inbound, '127.0.0.1');
    s.on('connect', () => s.write(Buffer.from([0x16, 0x03, 0x01, 0x00, 0x05, 0x01, 0x00, 0x00, 0x01, 0x00])));
    s.on('close', () => resolve(true));
    s.on('error', () => undefined);
  });
  expect(closed).toBe(true);
});
