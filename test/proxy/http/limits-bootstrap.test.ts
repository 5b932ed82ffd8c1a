/** The bootstrap's `http` section (Envoy-named listener options) → HttpLimits, and its validation. */
import { parseBootstrap } from '../../../api/bootstrap';
import { limitsFromBootstrap, resolveLimits, DEFAULT_LIMITS } from '../../../proxy/http/limits';

const base = {
  node: { id: 'a-1', service: 'a', namespace: 'ns', version: 'v1', serviceAccount: 'a' },
  ports: { inbound: 0, outbound: 0, admin: 0, app: {} },
  interception: 'explicit',
  identity: { trustDomain: 'td', required: false },
};

test('the safe defaults: backslash read as /, escaped slashes kept, per-source cap below the listener cap', () => {
  expect(DEFAULT_LIMITS).toMatchObject({ backslash: 'slash', escapedSlashes: 'keep', normalizePath: true, mergeSlashes: true, idleTimeoutMs: 3_600_000 });
  expect(DEFAULT_LIMITS.maxConnectionsPerSource).toBeLessThan(DEFAULT_LIMITS.maxConnections);
});

test('every option maps to its limit; absent ones keep the default', () => {
  const b = parseBootstrap({ ...base, http: {
    backslash: 'reject', escapedSlashes: 'unescape', mergeSlashes: false, normalizePath: false, underscoreHeaders: 'drop',
    maxRequestHeadersKb: 32, maxHeadersCount: 50, requestHeadersTimeout: '2s', streamIdleTimeout: '1m', idleTimeout: '90s',
    maxConnections: 100, maxConnectionsPerSource: 10, forwardClientCert: 'sanitize',
  } });
  expect(resolveLimits(limitsFromBootstrap(b.http))).toMatchObject({
    backslash: 'reject', escapedSlashes: 'unescape', mergeSlashes: false, normalizePath: false, underscoreHeaders: 'drop',
    maxRequestHeadersBytes: 32 * 1024, maxHeadersCount: 50, headersTimeoutMs: 2000, streamIdleTimeoutMs: 60_000, idleTimeoutMs: 90_000,
    maxConnections: 100, maxConnectionsPerSource: 10,
  });
  expect(resolveLimits(limitsFromBootstrap(parseBootstrap({ ...base, http: {} }).http))).toEqual(DEFAULT_LIMITS);
  expect(limitsFromBootstrap(undefined)).toEqual({});
});

test.each([
  ['unknown value', { backslash: 'fold' }],
  ['unknown field (typo never dropped)', { normalise_path: true }],
  ['bad duration', { idleTimeout: 'forever' }],
  ['zero per-source cap', { maxConnectionsPerSource: 0 }],
])('%s → WEFT_ERR_INVALID_CONFIG', (_n, http) => {
  expect(() => parseBootstrap({ ...base, http })).toThrow(expect.objectContaining({ code: 'WEFT_ERR_INVALID_CONFIG' }));
});
