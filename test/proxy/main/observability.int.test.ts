/** Tracing (W3C traceparent + OTLP/HTTP JSON to a real collector socket) and JSON access logs. */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { ProxyServer } from '../../../proxy/http/server';
import { OtlpHttpExporter, formatTraceparent, traceContext, tracing } from '../../../proxy/observability/tracing';
import { accessLog, accessLogger } from '../../../proxy/observability/access-log';
import { compose, type Headers } from '../../../proxy/stack/types';
import { closeServer, get, listen } from '../http/util';

test('traceContext: propagates a valid traceparent with a new span id; rejects malformed and all-zero ids', () => {
  const t = traceContext('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', 0);
  expect(t).toMatchObject({ traceId: '4bf92f3577b34da6a3ce929d0e0e4736', parentSpanId: '00f067aa0ba902b7', sampled: true });
  expect(t.spanId).toMatch(/^[0-9a-f]{16}$/);
  expect(t.spanId).not.toBe('00f067aa0ba902b7');
  expect(traceContext('00-00000000000000000000000000000000-00f067aa0ba902b7-01', 0).parentSpanId).toBeUndefined();
  expect(traceContext('garbage', 1).sampled).toBe(true);
  expect(traceContext(undefined, 0).sampled).toBe(false);
  expect(formatTraceparent(t)).toBe(`00-${t.traceId}-${t.spanId}-01`);
});

test('tracing layer: upstream sees the same trace, sampled spans reach the OTLP collector', async () => {
  const bodies: unknown[] = [];
  const collector = http.createServer((req, res) => {
    let b = '';
    req.on('data', (c) => (b += c));
    req.on('end', () => {
      bodies.push({ url: req.url, json: JSON.parse(b) });
      res.end('{}');
    });
  });
  const cport = await listen(collector);
  const exporter = new OtlpHttpExporter(`http://127.0.0.1:${cport}`, 'web.default', 256, 60_000, { protocol: 'http/json' });
  let upstream: Headers = {};
  const p = new ProxyServer({
    handler: tracing({ sampleRate: 1, direction: 'outbound', exporter })(async (req) => {
      upstream = req.headers;
      return { status: 204, headers: {}, body: null };
    }),
  });
  const port = (await p.listen(0)).port;
  await get(port, { path: '/t', headers: { host: 'svc', traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' } });
  expect(String(upstream['traceparent'])).toMatch(/^00-4bf92f3577b34da6a3ce929d0e0e4736-[0-9a-f]{16}-01$/);
  await exporter.close();
  const body = bodies[0] as { url: string; json: { resourceSpans: { scopeSpans: { spans: Record<string, unknown>[] }[] }[] } };
  expect(body.url).toBe('/v1/traces');
  const span = body.json.resourceSpans[0].scopeSpans[0].spans[0];
  expect(span).toMatchObject({ traceId: '4bf92f3577b34da6a3ce929d0e0e4736', parentSpanId: '00f067aa0ba902b7', name: 'GET svc', kind: 3 });
  await p.close();
  await closeServer(collector);
});

test('access log: one JSON line per request with status and weft-error', async () => {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'weft-log-')), 'access.log');
  const logger = accessLogger(file);
  const p = new ProxyServer({
    handler: compose(accessLog(logger, 'inbound'))(async () => ({ status: 503, headers: { 'weft-error': 'no_endpoints' }, body: null })),
  });
  const port = (await p.listen(0)).port;
  await get(port, { path: '/a?b=1', headers: { host: 'svc' } });
  // the destination is asynchronous (SonicBoom): wait until the line is on disk
  let text = '';
  for (let i = 0; i < 200 && !text.includes('\n'); i++) {
    await new Promise<void>((resolve) => logger.flush(() => resolve()));
    text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
    if (!text.includes('\n')) await new Promise((r) => setTimeout(r, 10));
  }
  const line = JSON.parse(text.trim().split('\n')[0]);
  expect(line).toMatchObject({ direction: 'inbound', method: 'GET', authority: 'svc', path: '/a?b=1', status: 503, weft_error: 'no_endpoints', msg: 'request' });
  expect(typeof line.duration_ms).toBe('number');
  await p.close();
});
