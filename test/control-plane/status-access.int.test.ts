/**
 * The control plane's `/status` answers loopback callers only, unless a bearer token file is set;
 * `/ready`, `/live` and `/metrics` stay open to any peer (kubelet, Prometheus). A real control plane
 * with its status port on this host's own non-loopback address, so the peer address is not 127/8.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { optionsFromFlags, runControlPlane, RunningControlPlane } from '../../control-plane/main';
import { isLoopbackPeer, STATUS_FORBIDDEN } from '../../control-plane/status-access';
import { proxyStatus } from '../../cli/commands/proxy-status';
import { strictMeshConfigYaml } from '../support/waiting';

const external = Object.values(networkInterfaces()).flat().find((i) => i && i.family === 'IPv4' && !i.internal)?.address;

test('loopback peers: 127/8, ::1 and v4-mapped 127/8 only', () => {
  expect(['127.0.0.1', '127.1.2.3', '::1', '::ffff:127.0.0.1'].map(isLoopbackPeer)).toEqual([true, true, true, true]);
  expect(['10.0.0.1', '::ffff:10.0.0.1', '192.0.2.2', 'fd00::2', undefined].map(isLoopbackPeer)).toEqual([false, false, false, false, false]);
});

(external ? describe : describe.skip)(`status port on a non-loopback address (${external ?? 'none on this host: skipped'})`, () => {
  let root: string;
  let running: RunningControlPlane | undefined;
  let base: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'weft-status-'));
    await mkdir(join(root, 'dist'));
    await writeFile(join(root, 'dist', 'mesh.yaml'), strictMeshConfigYaml('shop.local', 'shop'));
    await writeFile(join(root, 'token'), 's3cret-token\n');
    const opts = optionsFromFlags({ source: 'local', dist: join(root, 'dist'), port: '0', statusPort: '0', statusHost: '0.0.0.0', xdsInsecure: true, stateDir: join(root, 'state'), statusTokenFile: join(root, 'token') });
    running = await runControlPlane(opts, () => undefined);
    base = `http://${external}:${running.controlPlane.statusPort}`;
  });
  afterAll(async () => {
    await running?.stop();
    await rm(root, { recursive: true, force: true });
  });

  test('from off the host address: /status 403 with the code, /ready /live /metrics open', async () => {
    const st = await fetch(`${base}/status`);
    expect(st.status).toBe(403);
    expect(await st.text()).toContain(STATUS_FORBIDDEN);
    for (const p of ['/ready', '/live', '/metrics']) expect((await fetch(`${base}${p}`)).status).toBe(200);
    await expect(proxyStatus({ url: base })).rejects.toMatchObject({ code: 'WEFT_ERR_PROXY_STATUS_FORBIDDEN', exitCode: 2 });
    expect((await fetch(`${base}/status`, { headers: { authorization: 'Bearer wrong-token!' } })).status).toBe(403);
  });

  test('the bearer token from --status-token-file opens /status; loopback needs none', async () => {
    expect((await fetch(`${base}/status`, { headers: { authorization: 'Bearer s3cret-token' } })).status).toBe(200);
    expect((await proxyStatus({ url: base, token: 's3cret-token' })).exitCode).toBe(0);
    expect((await fetch(`http://127.0.0.1:${running!.controlPlane.statusPort}/status`)).status).toBe(200);
  });
});
