/**
 * OTLP export: protobuf (decoded with the OpenTelemetry JS generated decoder, not ours) and JSON
 * with their content types, and a bounded queue that drops (and counts) instead of waiting.
 */
import * as http from 'node:http';
import { OtlpHttpExporter, type Span } from '../../../proxy/observability/tracing';
import { closeServer, listen } from '../http/util';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const otel = require('@opentelemetry/otlp-transformer/build/src/generated/root');
const ExportTraceServiceRequest = otel.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;

const span = (i: number, parent?: string): Span => ({
  traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: (0x1000 + i).toString(16).padStart(16, '0'), ...(parent ? { parentSpanId: parent } : {}), sampled: true,
  name: `GET reviews:${i}`, kind: i % 2 ? 'client' : 'server', startNs: 1_000_000_123n, endNs: 1_005_000_456n, error: i === 3,
  attributes: { 'http.request.method': 'GET', 'http.response.status_code': 200 },
});

interface Received { contentType?: string; url?: string; body: Buffer }
function receiver(status = 200) {
  const got: Received[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      got.push({ contentType: req.headers['content-type'], url: req.url, body: Buffer.concat(chunks) });
      res.statusCode = status;
      res.end();
    });
  });
  return { server, got };
}

test('protobuf by default: Content-Type application/x-protobuf, and the official decoder reads ids, parent, kind, times, attributes', async () => {
  const { server, got } = receiver();
  const port = await listen(server);
  const exp = new OtlpHttpExporter(`http://127.0.0.1:${port}`, 'reviews.bookinfo', 256, 60_000, { resource: { 'service.version': 'v2' } });
  exp.export(span(1));
  exp.export(span(2, '0000000000001001'));
  await exp.close();
  expect(got).toHaveLength(1);
  expect(got[0]).toMatchObject({ contentType: 'application/x-protobuf', url: '/v1/traces' });
  const req = ExportTraceServiceRequest.toObject(ExportTraceServiceRequest.decode(got[0].body), { longs: String, bytes: String });
  const rs = req.resourceSpans[0];
  expect(rs.resource.attributes).toEqual([
    { key: 'service.name', value: { stringValue: 'reviews.bookinfo' } },
    { key: 'service.version', value: { stringValue: 'v2' } },
  ]);
  const spans = rs.scopeSpans[0].spans;
  const hex = (b64: string) => Buffer.from(b64, 'base64').toString('hex');
  expect(spans.map((s: any) => [hex(s.traceId), hex(s.spanId), s.parentSpanId ? hex(s.parentSpanId) : undefined, s.kind, s.name])).toEqual([
    ['4bf92f3577b34da6a3ce929d0e0e4736', '0000000000001001', undefined, 3, 'GET reviews:1'],
    ['4bf92f3577b34da6a3ce929d0e0e4736', '0000000000001002', '0000000000001001', 2, 'GET reviews:2'],
  ]);
  // nanosecond times survive as 64-bit integers: the 5 ms duration is exact
  expect(BigInt(spans[0].endTimeUnixNano) - BigInt(spans[0].startTimeUnixNano)).toBe(5_000_333n);
  expect(spans[0].attributes).toContainEqual({ key: 'http.response.status_code', value: { intValue: '200' } });
  expect(exp.exported).toBe(2);
  await closeServer(server);
});

test('http/json: Content-Type application/json with hex ids', async () => {
  const { server, got } = receiver();
  const port = await listen(server);
  const exp = new OtlpHttpExporter(`http://127.0.0.1:${port}/v1/traces`, 'web.default', 256, 60_000, { protocol: 'http/json' });
  exp.export(span(3, '0000000000001001'));
  await exp.close();
  expect(got[0].contentType).toBe('application/json');
  const s = JSON.parse(got[0].body.toString()).resourceSpans[0].scopeSpans[0].spans[0];
  expect(s).toMatchObject({ traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '0000000000001003', parentSpanId: '0000000000001001', status: { code: 2 } });
  await closeServer(server);
});

test('a stalled receiver never blocks export(): one request in flight, the queue is bounded, the rest is dropped and counted', async () => {
  // the receiver reads the request and never answers until the test lets it
  const held: http.ServerResponse[] = [];
  let requests = 0;
  const server = http.createServer((req, res) => { requests++; req.resume(); held.push(res); });
  const port = await listen(server);
  let droppedSeen = 0;
  const exp = new OtlpHttpExporter(`http://127.0.0.1:${port}`, 'web.default', 10, 60_000, { maxQueue: 50, onDrop: (n) => { droppedSeen += n; } });
  for (let i = 0; i < 1000; i++) exp.export(span(i)); // synchronous: returns without waiting on the socket
  // the first full batch went out; with it in flight nothing else is sent; 50 stay queued
  expect(exp.dropped).toBe(1000 - 10 - 50);
  expect(droppedSeen).toBe(exp.dropped);
  await new Promise<void>((r) => { const t = setInterval(() => { if (held.length) { clearInterval(t); r(); } }, 5); });
  expect(requests).toBe(1);
  held.splice(0).forEach((r) => { r.statusCode = 503; r.end(); }); // the receiver refuses: that batch is dropped too
  const closing = exp.close();
  for (let i = 0; i < 200 && requests < 6; i++) {
    await new Promise((r) => setTimeout(r, 5));
    held.splice(0).forEach((r) => r.end());
  }
  await closing;
  expect(exp.dropped).toBe(940 + 10);
  expect(exp.exported).toBe(50);
  await closeServer(server);
});
