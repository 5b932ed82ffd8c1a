/**
 * The local source on real temp directories with real file changes: multi-document manifests,
 * re-read on change, last good state kept on a broken file, directory recreated, self-registered and
 * static endpoints, and the status file.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventEmitter } from 'node:events';
import type { SourceError } from '../../../control-plane/sources/errors';
import type { NodeRegistration } from '../../../control-plane/sources/endpoints';
import { LocalSource, NodeEvents } from '../../../control-plane/sources/local';
import { SnapshotLog } from './collect';

const MESH = `apiVersion: weft.dev/v1alpha1
kind: MeshConfig
metadata:
  name: mesh
spec:
  trustDomain: shop.local
  defaultMtlsMode: STRICT
  defaultInboundPolicy: allow
  proxyImage: weft/proxy:dev
  controlPlaneImage: weft/cp:dev
  controlPlane: { namespace: weft-system, service: weft-control-plane, xdsPort: 15010, caPort: 15012 }
  certificateTtl: 24h
`;
const service = (name: string) => `apiVersion: weft.dev/v1alpha1
kind: MeshService
metadata:
  name: ${name}
  namespace: shop
spec:
  serviceAccount: ${name}
  interception: explicit
  ports: [{ name: http, port: 9080, protocol: http }]
  versions: [{ name: v1, replicas: 1 }, { name: v2, replicas: 1 }]
`;
const canary = (v1: number, v2: number) => `apiVersion: weft.dev/v1alpha1
kind: CanaryRoute
metadata:
  name: reviews-canary
  namespace: shop
spec:
  service: { name: reviews }
  routes:
    - backends: [{ version: v1, weight: ${v1} }, { version: v2, weight: ${v2} }]
`;
const DEPLOYMENT = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: reviews-v1
  namespace: shop
spec:
  replicas: 1
  selector: { matchLabels: { app: reviews, version: v1 } }
  template:
    metadata: { labels: { app: reviews, version: v1 } }
    spec: { containers: [{ name: reviews, image: shop/reviews:1 }] }
`;

let root: string;
let dist: string;
let source: LocalSource;
let log: SnapshotLog;
let errors: SourceError[];
let errorWaiters: ((e: SourceError) => void)[];

/** The next reported error (with `code`, when given: a rewrite may report other errors on the way). */
const nextError = (code?: string) =>
  new Promise<SourceError>((resolve) => {
    const w = (e: SourceError) => {
      if (code === undefined || e.code === code) resolve(e);
      else errorWaiters.push(w);
    };
    errorWaiters.push(w);
  });
const names = (s: { resources: readonly { kind: string; metadata: { name: string } }[] } | undefined) => (s?.resources ?? []).map((r) => `${r.kind}/${r.metadata.name}`);
const weights = (s: { resources: readonly { kind: string; spec: unknown }[] } | undefined) =>
  ((s?.resources.find((r) => r.kind === 'CanaryRoute')?.spec as { routes: { backends: { weight: number }[] }[] } | undefined)?.routes[0].backends ?? []).map((b) => b.weight);

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'weft-local-'));
  dist = join(root, 'dist');
  await mkdir(dist);
  await writeFile(join(dist, 'mesh.k8s.yaml'), [MESH, DEPLOYMENT, service('reviews'), canary(90, 10), ''].join('---\n'));
  errors = [];
  errorWaiters = [];
  log = new SnapshotLog();
  source = new LocalSource({
    dir: dist,
    statusFile: join(root, '.weft', 'status.json'),
    debounceMs: 30,
    onError: (e) => {
      errors.push(e);
      errorWaiters.splice(0).forEach((w) => w(e));
    },
  });
  await source.start(log.push);
});

afterEach(async () => {
  await source.stop();
  await rm(root, { recursive: true, force: true });
});

test('reads the weft resources out of multi-document manifests, skipping other kinds', () => {
  expect(log.all).toHaveLength(1);
  expect(names(log.last)).toEqual(['CanaryRoute/reviews-canary', 'MeshConfig/mesh', 'MeshService/reviews']);
  expect(weights(log.last)).toEqual([90, 10]);
  expect(log.last?.endpoints).toEqual([]);
});

test('a changed file is re-read whole; added and removed files count', async () => {
  await writeFile(join(dist, 'mesh.k8s.yaml'), [MESH, service('reviews'), canary(50, 50)].join('---\n'));
  await log.until('50/50', (s) => weights(s).join() === '50,50');
  await writeFile(join(dist, 'ratings.k8s.yaml'), service('ratings'));
  await log.until('ratings added', (s) => names(s).includes('MeshService/ratings'));
  await rm(join(dist, 'ratings.k8s.yaml'));
  const s = await log.until('ratings removed', (x) => !names(x).includes('MeshService/ratings'), log.all.length - 1);
  expect(names(s)).toEqual(['CanaryRoute/reviews-canary', 'MeshConfig/mesh', 'MeshService/reviews']);
  // A re-read can land between a writer's truncate and write; that is reported and retried, nothing else.
  expect(errors.filter((e) => !/is empty/.test(e.message))).toEqual([]);
});

test('a half-written file keeps the last good resources and reports WEFT_ERR_SOURCE_MANIFEST; the fix is picked up', async () => {
  const good = log.all.length;
  const err = nextError();
  // A write cut off mid-document: an unterminated flow mapping.
  await writeFile(join(dist, 'mesh.k8s.yaml'), `${MESH}---\n${canary(0, 100).slice(0, -30)}\n  routes: [{ backends: [{ version: v1`);
  const e = await err;
  expect(e.code).toBe('WEFT_ERR_SOURCE_MANIFEST');
  expect(e.message).toContain('mesh.k8s.yaml');
  expect(source.lastError?.code).toBe('WEFT_ERR_SOURCE_MANIFEST');
  expect(log.all).toHaveLength(good); // nothing emitted: the mesh runs on the last good snapshot
  expect(source.snapshot().resources.map((r) => r.kind)).toEqual(['CanaryRoute', 'MeshConfig', 'MeshService']);

  await writeFile(join(dist, 'mesh.k8s.yaml'), [MESH, service('reviews'), canary(0, 100)].join('---\n'));
  await log.until('0/100', (s) => weights(s).join() === '0,100');
  expect(source.lastError).toBeUndefined();
});

test('an empty file (truncated, not yet written) keeps the last good resources', async () => {
  const err = nextError();
  await writeFile(join(dist, 'mesh.k8s.yaml'), '');
  expect((await err).message).toContain('mesh.k8s.yaml is empty');
  expect(names(source.snapshot())).toHaveLength(3);
});

test('a directory emptied for a rewrite keeps the last good resources', async () => {
  const err = nextError();
  await rm(join(dist, 'mesh.k8s.yaml'));
  expect((await err).message).toContain('holds no manifests');
  expect(names(source.snapshot())).toHaveLength(3);
  await writeFile(join(dist, 'next.k8s.yaml'), service('ratings'));
  await log.until('rewritten', (s) => names(s).join() === 'MeshService/ratings');
});

test('a weft document without a name is an error too, not a silently smaller mesh', async () => {
  const err = nextError();
  await writeFile(join(dist, 'extra.yaml'), 'apiVersion: weft.dev/v1alpha1\nkind: MtlsPolicy\nmetadata: {}\nspec: { mode: STRICT }\n');
  expect((await err).message).toMatch(/extra\.yaml.*MtlsPolicy.*metadata\.name/);
  expect(names(source.snapshot())).toHaveLength(3);
});

test('the output directory deleted and recreated (cdk8s synth) is watched again', async () => {
  const err = nextError('WEFT_ERR_SOURCE_DIR');
  await rm(dist, { recursive: true });
  expect((await err).code).toBe('WEFT_ERR_SOURCE_DIR');
  expect(names(source.snapshot())).toHaveLength(3); // kept
  const staging = join(root, 'dist.new');
  await mkdir(staging);
  await writeFile(join(staging, 'mesh.k8s.yaml'), [MESH, service('reviews'), service('ratings')].join('---\n'));
  await rename(staging, dist);
  await log.until('recreated dir', (s) => names(s).join() === 'MeshConfig/mesh,MeshService/ratings,MeshService/reviews');
  await writeFile(join(dist, 'canary.yaml'), canary(70, 30));
  await log.until('watching the new dir', (s) => weights(s).join() === '70,30');
});

test('sidecars register through node events; a reconnect before the old stream closes keeps the endpoint', async () => {
  const bus = new EventEmitter();
  const events: NodeEvents = {
    onNodeConnected: (cb) => bus.on('up', cb),
    onNodeDisconnected: (cb) => bus.on('down', cb),
  };
  source.attach(events);
  const node: NodeRegistration = { id: 'reviews-v1-0', kind: 'sidecar', service: 'reviews', namespace: 'shop', version: 'v1', endpoint: { address: '127.0.0.1', ports: { http: 15006 } } };
  bus.emit('up', node);
  const s = await log.until('registered', (x) => x.endpoints.length === 1);
  expect(s.endpoints[0]).toEqual({ service: 'reviews', namespace: 'shop', version: 'v1', address: '127.0.0.1', ports: { http: 15006 }, ready: true, instance: 'reviews-v1-0', meshed: true });
  bus.emit('up', node); // new stream
  bus.emit('down', node); // old stream closes
  bus.emit('up', { ...node, id: 'reviews-v2-0', version: 'v2', endpoint: { address: '::1', ports: { http: 15006 } } });
  bus.emit('up', { id: 'grpc-client', kind: 'proxyless' }); // consumes config, serves nothing
  await log.until('v2 registered', (x) => x.endpoints.length === 2);
  expect(source.snapshot().endpoints.map((e) => e.instance)).toEqual(['reviews-v1-0', 'reviews-v2-0']);
  bus.emit('down', node);
  await log.until('v1 gone', (x) => x.endpoints.map((e) => e.instance).join() === 'reviews-v2-0');
  // A sidecar claiming a host name is refused: grpc-js-xds would NACK the whole EDS response.
  const err = nextError();
  bus.emit('up', { ...node, id: 'bad', endpoint: { address: 'reviews.local', ports: { http: 15006 } } });
  expect((await err).code).toBe('WEFT_ERR_SOURCE_REGISTER');
  expect(() => source.register({ ...s.endpoints[0], ports: { http: 0 } })).toThrow(expect.objectContaining({ code: 'WEFT_ERR_SOURCE_REGISTER' }));
  expect(() => source.register({ ...s.endpoints[0], address: '0.0.0.0' })).toThrow(/unspecified address/);
});

test('static endpoints from a JSON file, re-read on change, last good kept when invalid', async () => {
  await source.stop();
  const file = join(root, 'endpoints.json');
  await writeFile(file, JSON.stringify([{ service: 'reviews', namespace: 'shop', version: 'v1', address: '127.0.0.1', ports: { http: 9080 } }]));
  log = new SnapshotLog();
  source = new LocalSource({ dir: dist, endpointsFile: file, statusFile: join(root, 'status.json'), debounceMs: 30, onError: (e) => errorWaiters.splice(0).forEach((w) => w(e)) });
  await source.start(log.push);
  expect(log.last?.endpoints).toEqual([{ service: 'reviews', namespace: 'shop', version: 'v1', address: '127.0.0.1', ports: { http: 9080 }, ready: true, instance: '127.0.0.1:9080', meshed: false }]);
  await writeFile(file, JSON.stringify([{ service: 'reviews', namespace: 'shop', version: 'v2', address: '127.0.0.2', ports: { http: 9081 }, instance: 'r2' }]));
  await log.until('v2 static', (s) => s.endpoints.map((e) => e.instance).join() === 'r2');
  const err = nextError();
  await writeFile(file, '[{"service": "reviews", "namespace": "shop", "version": "v3", "address": "127.0.0.3", "ports": {');
  expect((await err).code).toBe('WEFT_ERR_SOURCE_ENDPOINTS');
  expect(source.snapshot().endpoints.map((e) => e.instance)).toEqual(['r2']);
});

test('reportStatus writes the status file atomically and only when the verdicts change; read errors show up in it', async () => {
  const file = join(root, '.weft', 'status.json');
  const verdict = { kind: 'CanaryRoute', namespace: 'shop', name: 'reviews-canary', accepted: true, resolvedRefs: true, reason: 'Accepted', message: '' };
  await source.reportStatus([verdict]);
  expect(JSON.parse(await readFile(file, 'utf8'))).toEqual({ resources: [verdict] });
  await rm(file);
  await source.reportStatus([verdict]);
  expect(existsSync(file)).toBe(false); // unchanged: not rewritten
  await source.reportStatus([{ ...verdict, resolvedRefs: false, reason: 'UnknownVersion', message: 'v3?' }]);
  expect(JSON.parse(await readFile(file, 'utf8')).resources[0].reason).toBe('UnknownVersion');

  const err = nextError();
  await writeFile(join(dist, 'mesh.k8s.yaml'), 'kind: [unclosed');
  await err;
  const withError = await waitForFile(file, (t) => t.includes('sourceError'));
  expect(JSON.parse(withError).sourceError.code).toBe('WEFT_ERR_SOURCE_MANIFEST');
});

test('reports in flight at once all succeed, and the file ends with the last one (no ENOENT from a shared temp file)', async () => {
  const file = join(root, '.weft', 'status.json');
  const verdict = (reason: string) => ({ kind: 'CanaryRoute', namespace: 'shop', name: 'reviews-canary', accepted: true, resolvedRefs: true, reason, message: '' });
  await Promise.all(['A', 'B', 'C', 'D'].map((r) => source.reportStatus([verdict(r)])));
  expect(JSON.parse(await readFile(file, 'utf8')).resources[0].reason).toBe('D');
});

test('start() fails with WEFT_ERR_SOURCE_DIR when the directory does not exist', async () => {
  const s = new LocalSource({ dir: join(root, 'nope') });
  await expect(s.start(() => undefined)).rejects.toMatchObject({ code: 'WEFT_ERR_SOURCE_DIR' });
});

/** Waits (bounded) until `file` holds text satisfying `pred`; the write is async after the error callback. */
async function waitForFile(file: string, pred: (text: string) => boolean): Promise<string> {
  for (let i = 0; i < 200; i++) {
    const text = await readFile(file, 'utf8').catch(() => '');
    if (pred(text)) return text;
    await new Promise((r) => setImmediate(r));
  }
  throw new Error(`${file} never satisfied the predicate`);
}
