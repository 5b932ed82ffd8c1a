/** The admin listener's bind address (bootstrap `adminBindAddress`) and the proxy's node id (POD_NAME). */
import { runProxy, type RunningProxy } from '../../../proxy/main';
import type { Bootstrap } from '../../../api/bootstrap';
import { get } from '../http/util';

const base: Bootstrap = {
  node: { id: 'web-v1', service: 'web', namespace: 'default', version: 'v1', serviceAccount: 'web' },
  ports: { inbound: 0, outbound: 0, admin: 0, app: { http: 8080 } },
  bindAddress: '127.0.0.1',
  interception: 'explicit',
  identity: { trustDomain: 'weft.test', required: false },
  staticResources: {},
  drainTimeout: '100ms',
};

let proxy: RunningProxy | undefined;
afterEach(async () => {
  await proxy?.shutdown();
  proxy = undefined;
});

test('adminBindAddress moves the admin listener (probes reach it there), the other listeners stay on bindAddress', async () => {
  const logged: string[] = [];
  proxy = await runProxy({ ...base, adminBindAddress: '127.0.0.2' }, { log: (_level, msg) => logged.push(msg) });
  expect((await get(proxy.ports.admin, { host: '127.0.0.2', path: '/ready' })).status).toBe(200);
  expect((await get(proxy.ports.admin, { host: '127.0.0.2', path: '/live' })).status).toBe(200);
  // the bound addresses, not a probe of 127.0.0.1:<port>: another test's listener may hold that port there
  expect(logged).toContain(`listening: outbound 127.0.0.1:${proxy.ports.outbound}, inbound 127.0.0.1:${proxy.ports.inbound}, admin 127.0.0.2:${proxy.ports.admin}`);
  // a loopback bind address keeps every endpoint open to its (local) peers
  expect((await get(proxy.ports.admin, { host: '127.0.0.2', path: '/config_dump' })).status).toBe(200);
});

test('node id: POD_NAME (when set) wins over the shared bootstrap node.id, in the config dump', async () => {
  proxy = await runProxy(base, { log: () => undefined, env: { POD_NAME: 'web-v1-7d9f-abcde' } });
  expect(JSON.parse((await get(proxy.ports.admin, { path: '/config_dump' })).body).node.id).toBe('web-v1-7d9f-abcde');
  await proxy.shutdown();
  proxy = await runProxy(base, { log: () => undefined, env: { POD_NAME: '' } });
  expect(JSON.parse((await get(proxy.ports.admin, { path: '/config_dump' })).body).node.id).toBe('web-v1');
});
