/**
 * The Kubernetes source through client-node's real ListWatch/Watch/API code against recorded API
 * streams replayed over HTTP: initial list, watch add/modify/delete, bookmarks, 410 Gone → relist,
 * dropped watch → reconnect from the last resourceVersion, and status PATCHes.
 */
import { KubernetesSource } from '../../../control-plane/sources/kubernetes';
import type { SourceError } from '../../../control-plane/sources/errors';
import { loadK8sClient } from '../../support/recorded-k8s/client';
import { readRecording, readStream, RecordedApiServer } from '../../support/recorded-k8s/server';
import { endpointLines, SnapshotLog } from './collect';

const client = loadK8sClient();
const LISTS = ['meshconfigs', 'meshservices', 'canaryroutes', 'mtlspolicies', 'services', 'endpointslices', 'pods'];

let api: RecordedApiServer;
let source: KubernetesSource;
let log: SnapshotLog;
let errors: SourceError[];

const INITIAL = [
  'shop/ratings/v1/ratings-v1-6c9d8b7f4-lq2wz@10.244.1.14:{"grpc":15006}',
  'shop/ratings/v1/ratings-v1-6c9d8b7f4-r8vtn@10.244.2.9:{"grpc":9090} plain',
  'shop/reviews/v1/reviews-v1-7d8f9c6b5-9mzqt@10.244.2.11:{"http":15006}',
  'shop/reviews/v1/reviews-v1-7d8f9c6b5-x2k4p@10.244.1.12:{"http":15006}',
];

beforeEach(async () => {
  api = await RecordedApiServer.start();
  for (const l of LISTS) api.load(readRecording(`${l}.json`));
  errors = [];
  log = new SnapshotLog();
  source = new KubernetesSource({
    client,
    kubeConfig: api.kubeConfig(client),
    debounceMs: 20,
    restartBackoff: { baseMs: 10, maxMs: 50 },
    syncTimeoutMs: 8000,
    onError: (e) => errors.push(e),
    now: () => new Date('2026-11-20T10:00:00Z'),
  });
  await source.start(log.push);
});

afterEach(async () => {
  await source.stop();
  await api.close();
});

test('initial list: weft resources without status noise, endpoints joined from slices and pods', async () => {
  const first = log.all[0];
  expect(log.all).toHaveLength(1);
  expect(first.resources.map((r) => `${r.kind}/${r.metadata.namespace ?? ''}/${r.metadata.name}`)).toEqual([
    'CanaryRoute/shop/reviews-canary',
    'MeshConfig//mesh',
    'MeshService/shop/ratings',
    'MeshService/shop/reviews',
    'MtlsPolicy/shop/ratings-authz',
  ]);
  const reviews = first.resources.find((r) => r.metadata.name === 'reviews')!;
  expect(reviews.apiVersion).toBe('weft.dev/v1alpha1');
  expect(reviews.metadata.generation).toBe(1);
  expect(reviews.metadata.annotations).toEqual({}); // kubectl's last-applied copy is dropped
  expect((reviews.spec as { serviceAccount: string }).serviceAccount).toBe('reviews');
  // kube-dns and the apiserver Service have no MeshService: not part of the mesh.
  expect(endpointLines(first)).toEqual(INITIAL);
  // Every collection was listed once with the recorded bearer token, then watched from the list's version.
  for (const kind of ['MeshConfig', 'MeshService', 'CanaryRoute', 'MtlsPolicy', 'Service', 'EndpointSlice', 'Pod']) {
    expect(api.lists(kind)).toHaveLength(1);
    expect(api.watches(kind)[0].query).toMatchObject({ watch: 'true', resourceVersion: '1000' });
  }
  expect(errors).toEqual([]);
});

test('watch add and modify: a v2 rollout joins once its slice endpoint is ready', async () => {
  // pod pending → running, slice with the endpoint not ready (excluded), bookmark, pod ready, slice ready
  for (const ev of readStream('reviews-v2-rollout.ndjson')) api.apply(ev);
  const ready = await log.until('v2 ready', (s) => endpointLines(s).includes('shop/reviews/v2/reviews-v2-5b7c9d8e6-hq4zs@10.244.1.15:{"http":15006}'));
  expect(endpointLines(ready)).toEqual([...INITIAL, 'shop/reviews/v2/reviews-v2-5b7c9d8e6-hq4zs@10.244.1.15:{"http":15006}']);
  // No snapshot ever carried the not-yet-ready endpoint.
  expect(log.all.some((s) => endpointLines(s).some((l) => l.includes('reviews/v2/') && l.endsWith('draining')))).toBe(false);
  expect(errors).toEqual([]);
});

test('watch delete: a terminating endpoint drains, then leaves; a deleted MeshService takes its endpoints along', async () => {
  const [podTerminating, sliceDraining, sliceGone, podDeleted] = readStream('reviews-v1-scale-down.ndjson');
  api.apply(podTerminating);
  api.apply(sliceDraining);
  await log.until('x2k4p draining', (s) => endpointLines(s).includes('shop/reviews/v1/reviews-v1-7d8f9c6b5-x2k4p@10.244.1.12:{"http":15006} draining'));
  api.apply(sliceGone);
  api.apply(podDeleted);
  await log.until('x2k4p gone', (s) => !endpointLines(s).some((l) => l.includes('x2k4p')));
  const from = log.all.length;
  for (const ev of readStream('ratings-removed.ndjson')) api.apply(ev);
  const after = await log.until('ratings removed', (s) => !s.resources.some((r) => r.metadata.name === 'ratings'), from);
  expect(endpointLines(after)).toEqual(['shop/reviews/v1/reviews-v1-7d8f9c6b5-9mzqt@10.244.2.11:{"http":15006}']);
});

test('spec change of a custom resource is emitted once, with the new generation', async () => {
  for (const ev of readStream('canary-promote.ndjson')) api.apply(ev);
  const s = await log.until('canary generation 2', (x) => x.resources.some((r) => r.kind === 'CanaryRoute' && r.metadata.generation === 2));
  const spec = s.resources.find((r) => r.kind === 'CanaryRoute')!.spec as { routes: { backends?: { weight: number }[] }[] };
  expect(spec.routes[1].backends?.map((b) => b.weight)).toEqual([50, 50]);
  expect(log.all).toHaveLength(2);
});

test('bookmark moves the resume point; a dropped watch reconnects from it without a relist', async () => {
  const bookmarkRv = api.bookmark('Pod');
  // Bookmarks carry no object change, so the only way to observe one is the resume point of the next watch;
  // a clean end (the apiserver's watch timeout) flushes the bookmark line first.
  api.endWatches('Pod');
  await api.waitForWatches('Pod');
  expect(api.watches('Pod').map((w) => w.query.resourceVersion)).toEqual(['1000', String(bookmarkRv)]);

  // Drop again and change things while disconnected: the reconnect replays what was missed.
  const [podPending, podRunning] = readStream('reviews-v2-rollout.ndjson');
  api.dropWatches('EndpointSlice');
  api.dropWatches('Pod');
  api.apply(podPending);
  api.apply(podRunning);
  const [, , , , , sliceReady] = readStream('reviews-v2-rollout.ndjson');
  api.apply(sliceReady);
  await log.until('v2 after reconnect', (s) => endpointLines(s).some((l) => l.startsWith('shop/reviews/v2/reviews-v2-5b7c9d8e6-hq4zs@10.244.1.15')));
  expect(api.lists('Pod')).toHaveLength(1);
  expect(api.lists('EndpointSlice')).toHaveLength(1);
  expect(errors.length).toBeGreaterThanOrEqual(1); // each drop is reported, then healed
  expect(errors.every((e) => e.code === 'WEFT_ERR_K8S_WATCH')).toBe(true);
});

test('410 Gone after compaction: the informer relists and the snapshot catches up', async () => {
  const [, , sliceGone] = readStream('reviews-v1-scale-down.ndjson');
  // The watch ends (apiserver watch timeout), history is compacted before the client comes back.
  api.endWatches('EndpointSlice');
  api.apply(sliceGone);
  api.compact('EndpointSlice');
  await log.until('x2k4p gone after relist', (s) => !endpointLines(s).some((l) => l.includes('x2k4p')));
  expect(api.lists('EndpointSlice')).toHaveLength(2);
  await api.waitForWatches('EndpointSlice'); // the watch after the relist (the snapshot may come first)
  const watchRvs = api.watches('EndpointSlice').map((w) => Number(w.query.resourceVersion));
  expect(watchRvs.length).toBeGreaterThanOrEqual(3); // first watch, the one answered with 410, the one after relist
  expect(watchRvs[watchRvs.length - 1]).toBeGreaterThan(watchRvs[0]);
});

test('a silently stalled watch is found by the liveness list and replaced by a fresh informer', async () => {
  await source.stop();
  const seen: SourceError[] = [];
  log = new SnapshotLog();
  source = new KubernetesSource({ client, kubeConfig: api.kubeConfig(client), debounceMs: 20, livenessCheckMs: 50, restartBackoff: { baseMs: 10, maxMs: 50 }, onError: (e) => seen.push(e) });
  await source.start(log.push);
  const listsBefore = api.lists('EndpointSlice').length;
  api.stallWatches('EndpointSlice'); // the connection stays open; events stop flowing
  const [, , sliceGone] = readStream('reviews-v1-scale-down.ndjson');
  api.apply(sliceGone);
  await log.until('x2k4p gone via the fresh informer', (s) => !endpointLines(s).some((l) => l.includes('x2k4p')));
  expect(seen.map((e) => e.code)).toContain('WEFT_ERR_K8S_WATCH_STALE');
  expect(seen.find((e) => e.code === 'WEFT_ERR_K8S_WATCH_STALE')?.message).toContain('EndpointSlice');
  // One liveness list that found the difference, one list by the replacement informer (at least).
  expect(api.lists('EndpointSlice').length).toBeGreaterThanOrEqual(listsBefore + 2);
  // The replacement watches again, and the stalled connection was closed.
  await api.waitForWatches('EndpointSlice');
  for (const ev of readStream('ratings-removed.ndjson')) api.apply(ev);
  await log.until('ratings removed after replacement', (s) => !s.resources.some((r) => r.metadata.name === 'ratings'));
});

test('reportStatus merge-patches status.conditions through the status subresource, only when changed', async () => {
  const bad = { kind: 'CanaryRoute', namespace: 'shop', name: 'reviews-canary', accepted: true, resolvedRefs: false, reason: 'UnknownVersion', message: 'routes[0].backends[0]: version "v3" is not a version of MeshService shop/reviews', code: 'WEFT_ERR_UNKNOWN_VERSION' };
  const ok = { kind: 'MeshConfig', name: 'mesh', accepted: true, resolvedRefs: true, reason: 'Accepted', message: '' };
  await source.reportStatus([bad, ok, { ...ok, kind: 'MeshService', namespace: 'shop', name: 'does-not-exist' }]);

  const patches = api.requests.filter((r) => r.method === 'PATCH');
  expect(patches.map((p) => p.path)).toEqual([
    '/apis/weft.dev/v1alpha1/namespaces/shop/canaryroutes/reviews-canary/status',
    '/apis/weft.dev/v1alpha1/meshconfigs/mesh/status',
  ]);
  expect(patches[0].contentType).toBe('application/merge-patch+json');
  expect(patches[0].query).toMatchObject({ fieldManager: 'weft-control-plane' });
  expect(patches[0].body).toEqual({
    status: {
      conditions: [
        { type: 'Accepted', status: 'True', reason: 'Accepted', message: '', observedGeneration: 1, lastTransitionTime: '2026-11-20T10:00:00Z' },
        { type: 'ResolvedRefs', status: 'False', reason: 'UnknownVersion', message: 'WEFT_ERR_UNKNOWN_VERSION: routes[0].backends[0]: version "v3" is not a version of MeshService shop/reviews', observedGeneration: 1, lastTransitionTime: '2026-11-20T10:00:00Z' },
      ],
    },
  });
  expect(api.get('CanaryRoute', 'reviews-canary', 'shop')?.status).toEqual(patches[0].body && (patches[0].body as { status: unknown }).status);

  // Same verdict again: nothing to write (neither from memory nor, once the watch delivered it, from the cache).
  await source.reportStatus([bad, ok]);
  expect(api.requests.filter((r) => r.method === 'PATCH')).toHaveLength(2);

  // A status-only change never produces a new snapshot: spec, generation and endpoints are unchanged.
  for (const ev of readStream('canary-promote.ndjson')) api.apply(ev);
  await log.until('generation 2', (s) => s.resources.some((r) => r.kind === 'CanaryRoute' && r.metadata.generation === 2));
  expect(log.all).toHaveLength(2);

  // The spec changed (generation 2) and now resolves: a new write, with observedGeneration 2.
  await source.reportStatus([{ ...bad, resolvedRefs: true, reason: 'Accepted', message: '', code: undefined }]);
  const last = api.requests.filter((r) => r.method === 'PATCH').pop()!;
  expect((last.body as { status: { conditions: { type: string; status: string; observedGeneration: number }[] } }).status.conditions.map((c) => [c.type, c.status, c.observedGeneration])).toEqual([
    ['Accepted', 'True', 2],
    ['ResolvedRefs', 'True', 2],
  ]);
});

test('an unreachable API server fails start() with WEFT_ERR_K8S_SYNC_TIMEOUT after reporting watch errors', async () => {
  const dead = await RecordedApiServer.start();
  const kc = dead.kubeConfig(client);
  await dead.close(); // nothing listens on that port any more
  const seen: SourceError[] = [];
  const s = new KubernetesSource({ client, kubeConfig: kc, restartBackoff: { baseMs: 10, maxMs: 20 }, syncTimeoutMs: 300, onError: (e) => seen.push(e) });
  await expect(s.start(() => undefined)).rejects.toMatchObject({ code: 'WEFT_ERR_K8S_SYNC_TIMEOUT' });
  await s.stop();
  expect(seen.length).toBeGreaterThan(0);
  expect(seen[0].code).toBe('WEFT_ERR_K8S_WATCH');
});
