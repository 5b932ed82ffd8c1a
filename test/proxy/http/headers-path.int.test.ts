/** Unit and property tests of header hygiene and path normalization (Envoy path_utility_fuzz style). */
import * as fc from 'fast-check';
import { normalizePath } from '../../../proxy/http/path';
import { fromNodeHeaders, normalizeAuthority, isGrpcContentType } from '../../../proxy/http/headers';
import { parseGrpcTimeout, formatGrpcTimeout } from '../../../proxy/http/grpc';
import { ProxyServer } from '../../../proxy/http/server';
import { raw } from './util';

const opts = { normalizePath: true, mergeSlashes: true, escapedSlashes: 'keep' as const, backslash: 'slash' as const };

test('hop-by-hop headers and those named in Connection are stripped; end-to-end ones kept', () => {
  const h = fromNodeHeaders({ connection: 'keep-alive, x-secret', 'keep-alive': 'timeout=5', 'x-secret': 'a', te: 'trailers', 'transfer-encoding': 'chunked', host: 'x', 'x-keep': 'b', upgrade: 'websocket' });
  expect(h).toEqual({ 'x-keep': 'b' });
  expect(fromNodeHeaders({ connection: 'upgrade', upgrade: 'websocket' }, true)).toEqual({ connection: 'upgrade', upgrade: 'websocket' });
});

test('authority: lower case, default port dropped', () => {
  expect(normalizeAuthority('Svc.NS:80', 'http')).toBe('svc.ns');
  expect(normalizeAuthority('svc:443', 'https')).toBe('svc');
  expect(normalizeAuthority('svc:8080', 'http')).toBe('svc:8080');
});

test('gRPC helpers', () => {
  expect(isGrpcContentType('application/grpc+proto')).toBe(true);
  expect(isGrpcContentType('application/grpc-web')).toBe(false);
  expect(parseGrpcTimeout('100m')).toBe(100);
  expect(parseGrpcTimeout('2S')).toBe(2000);
  expect(parseGrpcTimeout('1H')).toBe(3_600_000);
  expect(parseGrpcTimeout('123456789m')).toBeUndefined();
  expect(parseGrpcTimeout('10x')).toBeUndefined();
  expect(parseGrpcTimeout(formatGrpcTimeout(1500))).toBe(1500);
});

test('path: rejections are coded 400s', () => {
  expect(() => normalizePath('a/b', opts)).toThrow(expect.objectContaining({ code: 'WEFT_ERR_BAD_PATH', status: 400 }));
  expect(() => normalizePath('/a b', opts)).toThrow(expect.objectContaining({ code: 'WEFT_ERR_BAD_PATH' }));
  expect(() => normalizePath('/a%2fb', { ...opts, escapedSlashes: 'reject' })).toThrow(expect.objectContaining({ code: 'WEFT_ERR_BAD_PATH' }));
  expect(normalizePath('/a%2fb/../c', { ...opts, escapedSlashes: 'unescape' })).toBe('/a/c');
  expect(normalizePath('*', opts)).toBe('*');
});

const segment = fc.constantFrom('a', 'b', '.', '..', '', '%2e', '%2E%2e', '%61', '%2F', 'x%20y');

test('property: normalized paths are absolute, idempotent and hold no dot segments', () => {
  fc.assert(fc.property(fc.array(segment, { maxLength: 12 }), fc.option(fc.constantFrom('?q=/../', '?a=1'), { nil: undefined }), (segs, query) => {
    const out = normalizePath('/' + segs.join('/') + (query ?? ''), opts);
    const path = out.split('?')[0];
    expect(path.startsWith('/')).toBe(true);
    expect(path.split('/').some((s) => s === '.' || s === '..')).toBe(false);
    expect(path.includes('//')).toBe(false);
    expect(normalizePath(out, opts)).toBe(out);
    if (query) expect(out.endsWith(query)).toBe(true);
  }), { numRuns: 500 });
});

test('CONNECT is refused with 405 and a reason', async () => {
  const p = new ProxyServer({ handler: async () => ({ status: 200, headers: {}, body: null }) });
  const port = (await p.listen(0)).port;
  const r = await raw(port, 'CONNECT svc:443 HTTP/1.1\r\nhost: svc:443\r\n\r\n');
  expect(r.text).toMatch(/^HTTP\/1.1 405/);
  expect(r.text).toContain('weft-error: connect_unsupported');
  await p.close();
});
