/** The bookinfo demo servers really serve, and call downstreams directly or through HTTP_PROXY. */
import { ChildProcess, spawn } from 'child_process';
import * as http from 'http';
import { AddressInfo } from 'net';
import * as path from 'path';

const APPS = path.resolve(__dirname, '../../examples/bookinfo/apps');
const children: ChildProcess[] = [];
const servers: http.Server[] = [];

afterAll(async () => {
  for (const c of children) c.kill('SIGTERM');
  await Promise.all(children.map((c) => (c.exitCode !== null ? undefined : new Promise((r) => c.once('exit', r)))));
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
});

/** Starts `apps/<name>.js` on 127.0.0.1:0 and resolves its port (read from its log line). */
function start(name: string, env: Record<string, string> = {}): Promise<number> {
  const child = spawn(process.execPath, [path.join(APPS, `${name}.js`)], { env: { ...process.env, PORT: '0', HOST: '127.0.0.1', HTTP_PROXY: '', http_proxy: '', ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (b) => {
      out += b;
      const m = /listening on 127\.0\.0\.1:(\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`${name} exited with ${code}`)));
  });
}

function get(port: number, p: string, headers: Record<string, string> = {}): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: p, headers }, (res) => {
      let t = '';
      res.on('data', (c) => (t += c));
      res.on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(t) }));
    }).on('error', reject);
  });
}

test('productpage → details + reviews v2 → ratings, direct addresses', async () => {
  const ratings = await start('ratings');
  const details = await start('details');
  const reviews = await start('reviews', { VERSION: 'v2', STARS: 'true', RATINGS_URL: `http://127.0.0.1:${ratings}` });
  const page = await start('productpage', { DETAILS_URL: `http://127.0.0.1:${details}`, REVIEWS_URL: `http://127.0.0.1:${reviews}` });
  const r = await get(page, '/productpage?id=7');
  expect(r.status).toBe(200);
  expect(r.body.details).toMatchObject({ id: 7, author: 'William Shakespeare' });
  expect(r.body.reviews.version).toBe('v2');
  expect(r.body.reviews.reviews[0]).toMatchObject({ reviewer: 'Reviewer1', stars: 5 });
  expect((await get(ratings, '/nope')).status).toBe(404);
});

test('with HTTP_PROXY set, downstream calls go to the proxy in absolute form with the service Host', async () => {
  // GIVEN a stand-in outbound listener that records what the app sends and answers like ratings
  const seen: { url?: string; host?: string; canary?: string }[] = [];
  const proxy = http.createServer((req, res) => {
    seen.push({ url: req.url, host: req.headers.host, canary: req.headers['x-canary'] as string });
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ id: 1, ratings: { Reviewer1: 1, Reviewer2: 2 } }));
  });
  servers.push(proxy);
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
  const reviews = await start('reviews', { VERSION: 'v2', STARS: 'true', HTTP_PROXY: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}` });
  const r = await get(reviews, '/reviews/1', { 'x-canary': 'always' });
  expect(r.body.reviews[1].stars).toBe(2);
  expect(seen).toEqual([{ url: 'http://ratings:9080/ratings/1', host: 'ratings:9080', canary: 'always' }]);
});
