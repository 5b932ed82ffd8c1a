import { parseXds } from '../../../proxy/config';
import type { Route } from '../../../proxy/config';
import { rescue } from '../../../proxy/http/respond';
import { deadlineFor, parseGrpcTimeout, timeout } from '../../../proxy/layers/timeout';
import { setFact } from '../../../proxy/stack/meta';
import { compose } from '../../../proxy/stack/types';
import type { ProxyRequest } from '../../../proxy/stack/types';
import { dur, fakeNext, makeRequest, textResponse } from '../../support/proxy-fixtures';

function routed(action: Record<string, unknown>, p: Partial<ProxyRequest> = {}): ProxyRequest {
  const r: Route = parseXds({ routes: [{ name: 't', virtual_hosts: [{ name: 'v', domains: ['*'], routes: [{ name: 'r', match: { prefix: '' }, route: { cluster: 'c', ...action } }] }] }] }).routes.get('t')!.virtualHosts[0].routes[0];
  const req = makeRequest(p);
  setFact(req, 'weft.route', r);
  setFact(req, 'weft.routeName', r.name);
  return req;
}

test('GIVEN grpc-timeout headers THEN they parse to milliseconds', () => {
  expect(parseGrpcTimeout('100m')).toBe(100);
  expect(parseGrpcTimeout('2S')).toBe(2000);
  expect(parseGrpcTimeout('1H')).toBe(3_600_000);
  expect(parseGrpcTimeout('5000u')).toBe(5);
  expect(parseGrpcTimeout('12x')).toBeUndefined();
});

test('GIVEN a route timeout, max_stream_duration and grpc-timeout THEN the smallest wins (A31)', () => {
  expect(deadlineFor(routed({ timeout: dur(1000) }))).toEqual({ ms: 1000, kind: 'timeout' });
  expect(deadlineFor(routed({ timeout: dur(1000), max_stream_duration: { max_stream_duration: dur(500) } }))).toEqual({ ms: 500, kind: 'stream_timeout' });
  expect(deadlineFor(routed({ timeout: dur(1000) }, { grpc: true, headers: { 'grpc-timeout': '200m' } }))!.ms).toBe(200);
  expect(deadlineFor(routed({ max_stream_duration: { grpc_timeout_header_max: dur(50) } }, { grpc: true, headers: { 'grpc-timeout': '200m' } }))!.ms).toBe(50);
  expect(deadlineFor(routed({ timeout: dur(1000) }, { grpc: false, headers: { 'grpc-timeout': '1m' } }))!.ms).toBe(1000); // not gRPC: header ignored
  expect(deadlineFor(routed({}))).toBeUndefined();
  expect(deadlineFor(routed({}), 300)).toEqual({ ms: 300, kind: 'stream_timeout' }); // listener default
});

test('GIVEN an upstream slower than the route timeout THEN 504 timeout and the try is aborted', async () => {
  let aborted = false;
  const next = fakeNext((req) => new Promise(() => req.signal.addEventListener('abort', () => (aborted = true))));
  const res = await compose(rescue, timeout())(next)(routed({ timeout: dur(20) }));
  expect(res.status).toBe(504);
  expect(res.headers['weft-error']).toBe('timeout route=r');
  expect(aborted).toBe(true);
});

test('GIVEN a gRPC request over its deadline THEN trailers-only DEADLINE_EXCEEDED, and grpc-timeout is propagated', async () => {
  const next = fakeNext(() => new Promise(() => undefined));
  const req = routed({}, { grpc: true, headers: { 'grpc-timeout': '20m' } });
  const res = await compose(rescue, timeout())(next)(req);
  expect(res.headers['grpc-status']).toBe('4');
  expect(next.calls[0].headers['grpc-timeout']).toBe('20m');
});

test('GIVEN a fast upstream THEN the response passes and no timer is left', async () => {
  const res = await timeout()(fakeNext(() => textResponse(200, 'ok')))(routed({ timeout: dur(10_000) }));
  expect(res.status).toBe(200);
  res.body!.resume();
});

test('GIVEN the deadline passes after response headers THEN the body is aborted, not answered 504', async () => {
  const { Readable } = await import('node:stream');
  const body = new Readable({ read() { /* never ends */ } });
  const res = await timeout()(fakeNext(() => ({ status: 200, headers: {}, body })))(routed({ timeout: dur(20) }));
  expect(res.status).toBe(200);
  await expect(new Promise((_, reject) => res.body!.on('error', reject))).rejects.toMatchObject({ code: 'WEFT_ERR_TIMEOUT' });
});
