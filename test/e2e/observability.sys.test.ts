/**
 * Observability end to end under `weft up` (real processes, real mTLS): bookinfo with the Mesh's
 * `observability` on. Metrics carry the standard source/destination labels on both sides (productpage
 * → reviews v2 is its own series); an OTLP receiver in this test decodes the sidecars' protobuf spans
 * and checks the parent/child chain productpage → reviews → ratings; access logs carry the trace id.
 */
import * as http from 'node:http';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLocalMesh, type LocalMesh } from '../../cli/up/mesh';
import { until } from '../support/waiting';
import { existsSync } from 'node:fs';
import { closeLoadAgent, get, reviewsVersion, runLoad } from './support/load';

/** The prometheus binary (Debian's package; `.ci/run` installs it), found the way `weft up --prometheus` finds it. */
const PROMETHEUS = [...(process.env.PATH ?? '').split(':'), '/usr/bin'].map((d) => join(d, 'prometheus')).find((p) => existsSync(p));
if (!PROMETHEUS) process.stderr.write('SKIPPED: the real-Prometheus test needs the prometheus binary (apt-get install prometheus)\n');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const otel = require('@opentelemetry/otlp-transformer/build/src/generated/root');
const ExportTraceServiceRequest = otel.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;

jest.setTimeout(180_000);

const ROOT = join(__dirname, '..', '..');
interface RxSpan { service: string; traceId: string; spanId: string; parentSpanId?: string; kind: number; name: string; contentType: string }
const spans: RxSpan[] = [];
let receiver: http.Server;
let mesh: LocalMesh | undefined;
let stateDir: string;

/** Decodes OTLP/HTTP by content type: protobuf with the OpenTelemetry JS decoder, or JSON. */
function decode(contentType: string, body: Buffer): RxSpan[] {
  const proto = contentType === 'application/x-protobuf';
  const req = proto ? ExportTraceServiceRequest.toObject(ExportTraceServiceRequest.decode(body), { longs: String, bytes: String }) : JSON.parse(body.toString());
  const id = (v: string | undefined) => (v ? (proto ? Buffer.from(v, 'base64').toString('hex') : v) : undefined);
  const out: RxSpan[] = [];
  for (const rs of req.resourceSpans) {
    const service = rs.resource.attributes.find((a: { key: string }) => a.key === 'service.name').value.stringValue;
    for (const ss of rs.scopeSpans) for (const s of ss.spans) {
      out.push({ service, traceId: id(s.traceId)!, spanId: id(s.spanId)!, parentSpanId: id(s.parentSpanId) || undefined, kind: s.kind, name: s.name, contentType });
    }
  }
  return out;
}

beforeAll(async () => {
  receiver = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      spans.push(...decode(String(req.headers['content-type']), Buffer.concat(chunks)));
      res.end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  const port = (receiver.address() as { port: number }).port;
  stateDir = mkdtempSync(join(tmpdir(), 'weft-e2e-obs-'));
  mesh = await startLocalMesh({
    projectDir: ROOT, stateDir, exposes: ['productpage'], readyTimeoutMs: 90_000,
    ...(PROMETHEUS ? { prometheus: { port: 0, binary: PROMETHEUS } } : {}),
    appProps: { observability: { tracing: { sampleRate: 1, otlpEndpoint: `http://127.0.0.1:${port}` }, accessLogs: true } },
    onProgress: (m) => process.stderr.write(`[weft up] ${m}\n`),
  });
}, 240_000);

afterAll(async () => {
  await mesh?.stop();
  closeLoadAgent();
  await new Promise((r) => receiver?.close(r));
  rmSync(stateDir, { recursive: true, force: true });
});

/** Sum of the samples of `name` whose labels include every pair of `want`. */
function sum(text: string, name: string, want: Record<string, string>): number {
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const labels = Object.fromEntries([...line.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(want).every(([k, v]) => labels[k] === v)) total += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}

const metricsOf = async (id: string) => (await get(`${mesh!.replicas.find((r) => r.plan.id === id)!.adminUrl}/metrics`)).body;

test('productpage → reviews v2 is its own series, on the client side (productpage) and the server side (reviews v2)', async () => {
  const page = `${mesh!.ingressUrl('productpage')}/productpage?id=1`;
  const v2 = await runLoad(page, 20, 4, { 'x-canary': 'always' });
  expect(v2.filter((o) => o.status === 200)).toHaveLength(20);
  const pp = await metricsOf('productpage-v1-0');
  const edge = { source_service: 'productpage', source_version: 'v1', destination_service: 'reviews' };
  expect(sum(pp, 'weft_proxy_requests_total', { direction: 'outbound', ...edge, destination_version: 'v2', status_code: '200' })).toBeGreaterThanOrEqual(20);
  const rv2 = await metricsOf('reviews-v2-0');
  expect(sum(rv2, 'weft_proxy_requests_total', { direction: 'inbound', ...edge, destination_version: 'v2', status_code: '200' })).toBeGreaterThanOrEqual(20);
  // the latency histogram carries the same labels
  expect(sum(pp, 'weft_proxy_request_duration_seconds_count', { direction: 'outbound', ...edge, destination_version: 'v2' })).toBeGreaterThanOrEqual(20);
  // no path or address labels anywhere in the request families
  for (const line of pp.split('\n').filter((l) => l.startsWith('weft_proxy_request'))) expect(line).not.toMatch(/path=|pod|ip=|instance=/);
});

test('one request is one trace: ingress → productpage → reviews → ratings, each hop parented on the last (protobuf spans)', async () => {
  const res = await get(`${mesh!.ingressUrl('productpage')}/productpage?id=1`, { 'x-canary': 'always' });
  expect(res.status).toBe(200);
  let chain: RxSpan[] = [];
  await until(async () => {
    chain = [];
    // the trace whose ratings server span exists, walked from there to its root
    const leaf = [...spans].reverse().find((s) => s.service.startsWith('ratings.') && s.kind === 2);
    if (!leaf) return false;
    const byId = new Map(spans.filter((s) => s.traceId === leaf.traceId).map((s) => [s.spanId, s]));
    for (let s: RxSpan | undefined = leaf; s && chain.length < 16; s = s.parentSpanId ? byId.get(s.parentSpanId) : undefined) chain.unshift(s);
    return chain.length >= 6 && !chain[0].parentSpanId;
  }, 'a complete trace at the receiver', 30_000);
  expect(chain.map((s) => [s.service.split('.')[0], s.kind === 2 ? 'server' : 'client'])).toEqual([
    ['weft-ingress', 'client'],
    ['productpage', 'server'], ['productpage', 'client'],
    ['reviews', 'server'], ['reviews', 'client'],
    ['ratings', 'server'],
  ]);
  expect(new Set(chain.map((s) => s.traceId)).size).toBe(1);
  expect(chain.every((s) => s.contentType === 'application/x-protobuf')).toBe(true);

  // the access log lines of that request carry its trace id, in every sidecar on the path
  const traceId = chain[0].traceId;
  // productpage calls details and reviews; reviews v2 calls ratings
  for (const [id, directions] of [['productpage-v1-0', ['inbound', 'outbound', 'outbound']], ['reviews-v2-0', ['inbound', 'outbound']]] as const) {
    const lines = readFileSync(join(stateDir, 'logs', `${id}.proxy.log`), 'utf8').split('\n').filter((l) => l.includes(traceId));
    const entries = lines.map((l) => JSON.parse(l.slice(l.indexOf('{'))));
    expect(entries.map((e) => e.direction).sort()).toEqual(directions);
    expect(entries.every((e) => e.trace_id === traceId && e.status === 200)).toBe(true);
  }
});

/** One PromQL instant query over the HTTP API: label set → value. */
async function promql(query: string): Promise<{ metric: Record<string, string>; value: number }[]> {
  const res = await get(`${mesh!.prometheus!.url}/api/v1/query?query=${encodeURIComponent(query)}`);
  const body = JSON.parse(res.body) as { status: string; data: { result: { metric: Record<string, string>; value: [number, string] }[] } };
  expect(body.status).toBe('success');
  return body.data.result.map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
}

(PROMETHEUS ? test : test.skip)('a real Prometheus scrapes every sidecar via prometheus.yml; PromQL per-version request counts, success rate and p99 agree with the traffic sent', async () => {
  const text = readFileSync(join(stateDir, 'prometheus.yml'), 'utf8');
  for (const r of mesh!.replicas) expect(text).toContain(new URL(r.adminUrl).host);
  const served = async () => {
    const out: Record<string, number> = {};
    for (const v of ['v1', 'v2']) out[v] = sum(await metricsOf(`reviews-${v}-0`), 'weft_proxy_requests_total', { direction: 'inbound', source_service: 'productpage', destination_service: 'reviews' });
    return out;
  };
  const before = await served();
  const page = `${mesh!.ingressUrl('productpage')}/productpage?id=1`;
  const t0 = performance.now();
  const pinned = await runLoad(page, 30, 3, { 'x-canary': 'always' });
  const split = await runLoad(page, 40, 4);
  const maxSeconds = (performance.now() - t0) / 1000;
  const sent = [...pinned, ...split];
  expect(sent.every((o) => o.status === 200)).toBe(true);
  const byVersion = { v1: sent.filter((o) => reviewsVersion(o) === 'v1').length, v2: sent.filter((o) => reviewsVersion(o) === 'v2').length };
  expect(byVersion.v1 + byVersion.v2).toBe(70);
  const after = await served();
  // the sidecars counted exactly what was sent, per version
  expect({ v1: after.v1 - before.v1, v2: after.v2 - before.v2 }).toEqual(byVersion);

  // Prometheus sees the same totals once it has scraped after the traffic
  const totals = 'sum by (destination_version) (weft_proxy_requests_total{direction="inbound",source_service="productpage",destination_service="reviews"})';
  await until(async () => {
    const r = await promql(totals);
    const got = Object.fromEntries(r.map((x) => [x.metric.destination_version, x.value]));
    return got.v1 === after.v1 && got.v2 === after.v2;
  }, 'Prometheus to scrape the post-traffic totals', 60_000);

  // success rate per version (the cookbook query): every request succeeded
  const rate = await promql('sum by (destination_version) (weft_proxy_requests_total{direction="inbound",destination_service="reviews",status_code!~"5.."}) / sum by (destination_version) (weft_proxy_requests_total{direction="inbound",destination_service="reviews"})');
  expect(Object.fromEntries(rate.map((x) => [x.metric.destination_version, x.value]))).toEqual({ v1: 1, v2: 1 });
  // p99 per version from the histogram: positive, and within the bucket bounding the whole load's wall time
  const p99 = await promql('histogram_quantile(0.99, sum by (destination_version, le) (weft_proxy_request_duration_seconds_bucket{direction="inbound",destination_service="reviews"}))');
  expect(p99.map((x) => x.metric.destination_version).sort()).toEqual(['v1', 'v2']);
  const bound = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30].find((b) => b >= maxSeconds) ?? 30;
  for (const x of p99) {
    expect(x.value).toBeGreaterThan(0);
    expect(x.value).toBeLessThanOrEqual(bound);
  }
});
