import {
  CircuitOpenError, ClusterNotFoundError, ConnectFailureError, DeniedError, NoEndpointsError, NoRouteError, OverflowError,
  RateLimitedError, TimeoutError, UpstreamResetError, toProxyError,
} from '../../../proxy/http/errors';
import { encodeGrpcMessage, errorResponse, rescue } from '../../../proxy/http/respond';
import { setFact } from '../../../proxy/stack/meta';
import { makeRequest, readBody } from '../../support/proxy-fixtures';

const cases = [
  [new TimeoutError('timeout', 100), 504, 'timeout', 4, 'WEFT_ERR_TIMEOUT'],
  [new NoEndpointsError('c'), 503, 'no_endpoints cluster=c', 14, 'WEFT_ERR_NO_ENDPOINTS'],
  [new ClusterNotFoundError('c'), 503, 'cluster_not_found cluster=c', 14, 'WEFT_ERR_CLUSTER_NOT_FOUND'],
  [new CircuitOpenError('c', 'max_requests'), 503, 'circuit_open cluster=c limit=max_requests', 14, 'WEFT_ERR_CIRCUIT_OPEN'],
  [new OverflowError('c'), 503, 'overflow cluster=c', 14, 'WEFT_ERR_OVERFLOW'],
  [new ConnectFailureError('10.0.0.1:80'), 502, 'connect_failure endpoint=10.0.0.1:80', 14, 'WEFT_ERR_CONNECT_FAILURE'],
  [new UpstreamResetError('10.0.0.1:80'), 502, 'upstream_reset endpoint=10.0.0.1:80', 14, 'WEFT_ERR_UPSTREAM_RESET'],
  [new DeniedError('ns/p', 'r1'), 403, 'denied policy=ns/p rule=r1', 7, 'WEFT_ERR_DENIED'],
  [new RateLimitedError('listener in'), 429, 'rate_limited scope=listener_in', 8, 'WEFT_ERR_RATE_LIMITED'],
  [new NoRouteError('a', '/'), 404, 'no_route authority=a', 12, 'WEFT_ERR_NO_ROUTE'],
] as const;

test.each(cases)('GIVEN %p THEN HTTP %i with weft-error "%s", grpc-status %i, code %s', async (err, status, header, grpc, code) => {
  expect(err.code).toBe(code);
  const res = errorResponse(err, makeRequest());
  expect(res.status).toBe(status);
  expect(res.headers['weft-error']).toBe(header);
  expect(await readBody(res)).toContain(err.message);
  const g = errorResponse(err, makeRequest({ grpc: true }));
  expect(g.status).toBe(200);
  expect(g.headers['grpc-status']).toBe(String(grpc));
  expect(g.body).toBeNull();
});

test('GIVEN a routed request that times out THEN the header names the route', () => {
  const req = makeRequest();
  setFact(req, 'weft.routeName', 'reviews-canary/default');
  expect(errorResponse(new TimeoutError('timeout', 5), req).headers['weft-error']).toBe('timeout route=reviews-canary/default');
});

test('GIVEN raw socket errors THEN they are classified (connect failure vs reset)', () => {
  expect(toProxyError(Object.assign(new Error('x'), { code: 'ECONNREFUSED' })).reason).toBe('connect_failure');
  expect(toProxyError(Object.assign(new Error('x'), { code: 'ECONNRESET' })).reason).toBe('upstream_reset');
  expect(toProxyError(new Error('weird')).reason).toBe('upstream_reset');
});

test('GIVEN a layer that throws a non-Error THEN rescue answers 500 internal instead of crashing', async () => {
  const res = await rescue(() => Promise.reject('boom'))(makeRequest());
  expect(res.status).toBe(500);
  expect(res.headers['weft-error']).toBe('internal');
});

test('GIVEN grpc-message text with non-ASCII and % THEN it is percent-encoded', () => {
  expect(encodeGrpcMessage('a%b é')).toBe('a%25b %C3%A9');
});
