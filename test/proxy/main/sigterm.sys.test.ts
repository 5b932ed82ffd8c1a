/**
 * Lifecycle with a real child process (`weft proxy --bootstrap`): SIGTERM stops accepting, lets
 * the in-flight request finish, and the process exits 0 within the drain timeout.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { identityDir, makeCa, serverBootstrap } from './fixtures';
import { closeServer, get, listen } from '../http/util';

const ROOT = path.resolve(__dirname, '../../..');
let app: http.Server;
let child: ChildProcess | undefined;

afterAll(async () => {
  child?.kill('SIGKILL');
  await closeServer(app);
});

test('SIGTERM: in-flight request completes, new connections are refused, exit 0', async () => {
  app = http.createServer((req, res) => {
    if (req.url === '/slow') setTimeout(() => res.end('slow done'), 700);
    else res.end('fast');
  });
  const appPort = await listen(app);
  const ca = await makeCa();
  const dir = await identityDir(ca, 'backend');
  // a sidecar whose inbound chain serves the app; identity not required so the test can use plaintext
  const b = serverBootstrap(appPort, dir, { identity: { trustDomain: 'weft.test', required: false, staticDir: dir }, drainTimeout: '3s' });
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'weft-boot-')), 'bootstrap.json');
  fs.writeFileSync(file, JSON.stringify(b));
  child = spawn(process.execPath, [path.join(ROOT, 'bin/weft.js'), 'proxy', '--bootstrap', file], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const ports = await new Promise<{ inbound: number; admin: number }>((resolve, reject) => {
    let out = '';
    child!.stdout!.on('data', (d) => {
      out += d;
      const line = out.split('\n').find((l) => l.includes('"listening"'));
      if (line) resolve(JSON.parse(line));
    });
    child!.once('exit', (code) => reject(new Error(`proxy exited early with ${code}`)));
  });
  const exited = new Promise<number | null>((resolve) => child!.once('exit', (code) => resolve(code)));
  expect((await get(ports.admin, { path: '/ready' })).status).toBe(200);

  // GIVEN a request in flight (PERMISSIVE inbound, plaintext)
  const slow = get(ports.inbound, { path: '/slow', headers: { host: 'backend' } });
  await new Promise((r) => app.once('request', r));
  // WHEN the proxy gets SIGTERM
  child.kill('SIGTERM');
  // THEN the in-flight request still completes
  const r = await slow;
  expect(r.status).toBe(200);
  expect(r.body).toBe('slow done');
  // AND the process exits 0 (within the drain timeout)
  expect(await exited).toBe(0);
  // AND nothing listens any more
  const refused = await new Promise<boolean>((resolve) => {
    const s = net.connect(ports.inbound, '127.0.0.1');
    s.on('connect', () => { s.destroy(); resolve(false); });
    s.on('error', () => resolve(true));
  });
  expect(refused).toBe(true);
}, 60_000);
