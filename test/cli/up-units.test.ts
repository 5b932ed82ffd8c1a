/**
 * Units of `weft up` that need no processes: the plan read from synthesized bookinfo, --expose
 * parsing, the live weight edit, the app-port remap, and the stat math and table.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { readManifests } from '../../control-plane/sources/manifests';
import { parseExpose, planMesh } from '../../cli/up/plan';
import { parseMetrics, quantileMs, renderStat, statRows, type StatSample } from '../../cli/up/stat';
import { setCanaryWeights, synthesize } from '../../cli/up/synth';

const ROOT = join(__dirname, '..', '..');
let dir: string;
let dist: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'weft-up-units-'));
  dist = await synthesize({ app: 'examples/bookinfo/mesh.ts#bookinfo', props: { replicas: { ratings: 2 } }, outdir: join(dir, 'dist'), cwd: ROOT });
}, 60_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('plan', () => {
  test('one replica per version × replica, with the local command and the target port', async () => {
    const plan = planMesh(await readManifests(dist), ['productpage=9080']);
    expect(plan.mesh.trustDomain).toBe('bookinfo.local');
    expect(plan.replicas.map((r) => r.id).sort()).toEqual(['details-v1-0', 'productpage-v1-0', 'ratings-v1-0', 'ratings-v1-1', 'reviews-v1-0', 'reviews-v2-0']);
    const v2 = plan.replicas.find((r) => r.id === 'reviews-v2-0')!;
    expect(v2.command).toEqual(['node', 'apps/reviews.js']);
    expect(v2.env).toMatchObject({ VERSION: 'v2', STARS: 'true' });
    expect(v2.ports).toEqual({ http: 9080 });
    expect(plan.exposes).toEqual([{ service: 'productpage', namespace: 'bookinfo', servicePort: 9080, listenPort: 9080 }]);
  });

  test('an unknown exposed service is WEFT_ERR_UP_EXPOSE naming the known ones', async () => {
    const resources = await readManifests(dist);
    expect(() => planMesh(resources, ['nope=1'])).toThrow(expect.objectContaining({ code: 'WEFT_ERR_UP_EXPOSE', message: expect.stringContaining('productpage.bookinfo') }));
  });

  test('--expose forms', () => {
    expect(parseExpose('productpage')).toEqual({ service: 'productpage', namespace: undefined, listenPort: 0 });
    expect(parseExpose('ratings.shop=8080')).toEqual({ service: 'ratings', namespace: 'shop', listenPort: 8080 });
    for (const bad of ['=80', 'a=99999', 'A_b=1', 'x=y']) expect(() => parseExpose(bad)).toThrow(expect.objectContaining({ code: 'WEFT_ERR_UP_EXPOSE' }));
  });

  test('a version without a local command is WEFT_ERR_UP_NO_LOCAL_COMMAND', async () => {
    const resources = (await readManifests(dist)).map((r) => (r.kind === 'MeshService' && r.metadata.name === 'details'
      ? { ...r, spec: { ...(r.spec as object), versions: [{ name: 'v1', replicas: 1 }] } } : r));
    expect(() => planMesh(resources, [])).toThrow(expect.objectContaining({ code: 'WEFT_ERR_UP_NO_LOCAL_COMMAND' }));
  });
});

describe('synth', () => {
  test('a missing app is WEFT_ERR_UP_APP; a module with no mesh function too', async () => {
    await expect(synthesize({ app: 'nope/mesh.ts', outdir: join(dir, 'x'), cwd: ROOT })).rejects.toMatchObject({ code: 'WEFT_ERR_UP_APP' });
    await expect(synthesize({ app: 'examples/bookinfo/mesh.ts#missing', outdir: join(dir, 'x'), cwd: ROOT })).rejects.toMatchObject({ code: 'WEFT_ERR_UP_APP' });
  });

  test('setCanaryWeights rewrites the catch-all split only, and refuses weights not summing to 100', async () => {
    const file = await setCanaryWeights(dist, { namespace: 'bookinfo', name: 'reviews-canary' }, { v1: 50, v2: 50 });
    const route = parseAllDocuments(readFileSync(file, 'utf8')).map((d) => d.toJS()).find((d) => d?.kind === 'CanaryRoute');
    expect(route.spec.routes[0].backends).toEqual([{ version: 'v2', weight: 100 }]);
    expect(route.spec.routes[1].backends).toEqual([{ version: 'v1', weight: 50 }, { version: 'v2', weight: 50 }]);
    await expect(setCanaryWeights(dist, { namespace: 'bookinfo', name: 'reviews-canary' }, { v1: 50, v2: 40 })).rejects.toMatchObject({ code: 'WEFT_ERR_UP_CHANGE' });
    await expect(setCanaryWeights(dist, { namespace: 'bookinfo', name: 'nope' }, { v1: 100 })).rejects.toMatchObject({ code: 'WEFT_ERR_UP_CHANGE' });
    // still readable by the control plane's reader
    expect((await readManifests(dist)).filter((r) => r.kind === 'CanaryRoute')).toHaveLength(1);
  });
});

describe('stat', () => {
  const text = (n: number, fails: number, fast: number) => [
    '# TYPE weft_proxy_requests_total counter',
    `weft_proxy_requests_total{direction="inbound",authority="reviews:9080",route="default",status_code="200",grpc_status="",error=""} ${n - fails}`,
    `weft_proxy_requests_total{direction="inbound",authority="reviews:9080",route="default",status_code="503",grpc_status="",error="no_endpoints"} ${fails}`,
    `weft_proxy_requests_total{direction="outbound",authority="ratings:9080",route="default",status_code="500",grpc_status="",error=""} 99`,
    `weft_proxy_request_duration_seconds_bucket{direction="inbound",authority="a",route="r",status_code="200",grpc_status="",error="",le="0.005"} ${fast}`,
    `weft_proxy_request_duration_seconds_bucket{direction="inbound",authority="a",route="r",status_code="200",grpc_status="",error="",le="0.1"} ${n}`,
    `weft_proxy_request_duration_seconds_bucket{direction="inbound",authority="a",route="r",status_code="200",grpc_status="",error="",le="+Inf"} ${n}`,
  ].join('\n');

  test('inbound only; 5xx are failures', () => {
    const m = parseMetrics(text(100, 3, 50));
    expect(m).toMatchObject({ total: 100, success: 97 });
    expect(m.buckets.get(Infinity)).toBe(100);
  });

  test('rows from two scrapes: rps, success rate, quantiles interpolated in buckets', () => {
    const sample = (t: string): StatSample => ({ ...parseMetrics(t), up: 1, replicas: 1 });
    const before = new Map([['bookinfo/reviews/v1', sample(text(100, 0, 50))]]);
    const after = new Map([['bookinfo/reviews/v1', sample(text(300, 2, 150))]]);
    const [row] = statRows(before, after, 2);
    expect(row).toMatchObject({ namespace: 'bookinfo', service: 'reviews', version: 'v1', rps: 100, successRate: 0.99 });
    expect(row.p50Ms).toBeCloseTo(5, 5);
    expect(row.p99Ms).toBeCloseTo(5 + 95 * (198 - 100) / 100, 5);
    expect(quantileMs(new Map(), new Map(), 0.5)).toBeUndefined();
    const table = renderStat([row]);
    expect(table.split('\n')[0]).toMatch(/^NAMESPACE\s+SERVICE\s+VERSION\s+MESHED\s+RESTARTS\s+SUCCESS\s+RPS\s+LATENCY_P50\s+LATENCY_P99$/);
    expect(table).toContain('99.00%');
    expect(table).toContain('100.0rps');
  });
});
