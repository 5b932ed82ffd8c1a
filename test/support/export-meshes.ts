/**
 * Meshes for the export tests beyond bookinfo, as the weft resources a synth produces: `shop`
 * (default deny, STRICT, namespaces and DENY rules, a three-way canary with a mirror, a tcp port, a
 * PERMISSIVE port) and `pay` (default allow, PERMISSIVE, gRPC, AUDIT, faults, direct responses,
 * consistent hashing, inverted matches: the things a target cannot say).
 */
import { API_VERSION, type WeftResource } from '../../api/resources';

type R = WeftResource<unknown>;
const res = (kind: string, name: string, namespace: string | undefined, spec: unknown): R =>
  ({ apiVersion: API_VERSION, kind, metadata: { name, ...(namespace ? { namespace } : {}) }, spec } as R);
const config = (name: string, trustDomain: string, defaultMtlsMode: string, defaultInboundPolicy: string): R => res('MeshConfig', name, undefined, {
  trustDomain, defaultMtlsMode, defaultInboundPolicy, proxyImage: 'weft:1', controlPlaneImage: 'weft:1',
  controlPlane: { namespace: 'weft-system', service: 'weft-control-plane', xdsPort: 15010, caPort: 15012 }, certificateTtl: '24h',
});
const service = (name: string, namespace: string, ports: unknown[], versions: string[], extra: Record<string, unknown> = {}): R => res('MeshService', name, namespace, {
  serviceAccount: name, interception: 'iptables', ports, versions: versions.map((v) => ({ name: v, replicas: 1 })), ...extra,
});
const http = (name: string, port: number, targetPort?: number) => ({ name, port, protocol: 'http', ...(targetPort ? { targetPort } : {}) });

export const shop: R[] = [
  config('shop', 'shop.local', 'STRICT', 'deny'),
  service('web', 'shop', [http('http', 8080)], ['v1'], { calls: [{ name: 'api' }] }),
  service('api', 'shop', [http('http', 8080, 9000)], ['v1', 'v2', 'v3'], { calls: [{ name: 'db' }], trafficPolicy: { connectionLimits: { maxConnections: 100, maxPendingRequests: 10, maxRequests: 200 } } }),
  service('db', 'shop', [{ name: 'pg', port: 5432, protocol: 'tcp' }], ['v1']),
  service('batch', 'ops', [http('http', 8080)], ['v1'], { calls: [{ name: 'api', namespace: 'shop' }] }),
  res('CanaryRoute', 'api-canary', 'shop', {
    service: { name: 'api' },
    routes: [
      { name: 'beta', match: [{ headers: [{ name: 'x-beta', present: true }] }, { path: { prefix: '/beta/' } }], backends: [{ version: 'v3', weight: 100 }] },
      { name: 'split', backends: [{ version: 'v1', weight: 80 }, { version: 'v2', weight: 15 }, { version: 'v3', weight: 5 }], mirror: { version: 'v3', percent: 10 }, timeout: '1s', retries: { attempts: 3, on: ['gateway-error', 'reset'], perTryTimeout: '300ms' } },
    ],
  }),
  res('MtlsPolicy', 'api-authz', 'shop', {
    scope: { service: 'api' },
    rules: [
      { name: 'web', action: 'ALLOW', from: [{ services: [{ name: 'web' }] }], to: [{ methods: ['GET', 'POST'], paths: ['/api/*', '/beta/*'] }] },
      { name: 'ops-read', action: 'ALLOW', from: [{ namespaces: ['ops'] }], to: [{ methods: ['GET'] }] },
      { name: 'no-admin', action: 'DENY', from: [{ namespaces: ['ops'] }], to: [{ paths: ['/admin*'] }] },
    ],
  }),
  res('MtlsPolicy', 'db-authz', 'shop', { scope: { service: 'db' }, rules: [{ name: 'api', action: 'ALLOW', from: [{ services: [{ name: 'api' }] }], to: [{ ports: [5432] }] }] }),
  res('MtlsPolicy', 'web-open', 'shop', { scope: { service: 'web' }, mode: 'PERMISSIVE', rules: [{ name: 'anyone', action: 'ALLOW' }] }),
];

export const pay: R[] = [
  config('pay', 'pay.example', 'PERMISSIVE', 'allow'),
  service('checkout', 'pay', [{ name: 'grpc', port: 50051, protocol: 'grpc' }], ['v1', 'v2'], { calls: [{ name: 'ledger' }] }),
  service('ledger', 'pay', [http('http', 8080), http('admin', 9901), { name: 'cache', port: 6379, protocol: 'tcp' }], ['v1'], {
    trafficPolicy: {
      loadBalancer: { policy: 'consistent-hash', hash: { header: 'x-account' } },
      outlierDetection: { consecutiveGatewayErrors: 3, interval: '5s', baseEjectionTime: '15s', maxEjectionPercent: 30, successRate: { minimumHosts: 3, requestVolume: 50, stdevFactor: 1.9 } },
      rateLimit: { requestsPerSecond: 100, burst: 20 },
    },
  }),
  service('frontend', 'pay', [http('http', 8080)], ['v1'], { calls: [{ name: 'checkout' }, { name: 'ledger' }] }),
  res('CanaryRoute', 'checkout-canary', 'pay', {
    service: { name: 'checkout' },
    routes: [
      { name: 'charge-v2', match: [{ path: { exact: '/pay.Checkout/Charge' }, headers: [{ name: 'x-tier', regex: 'gold|platinum' }] }], backends: [{ version: 'v2', weight: 100 }], timeout: '2s' },
      { name: 'legacy', match: [{ path: { prefix: '/pay.Legacy/' } }], directResponse: { status: 410 } },
      { name: 'split', backends: [{ version: 'v1', weight: 70 }, { version: 'v2', weight: 30 }] },
    ],
  }),
  res('CanaryRoute', 'ledger-routes', 'pay', {
    service: { name: 'ledger' },
    port: 'http',
    routes: [
      { name: 'chaos', match: [{ headers: [{ name: 'x-chaos', exact: '1' }], query: [{ name: 'debug', present: true, invert: true }] }], backends: [{ version: 'v1', weight: 100 }], fault: { delay: { fixed: '100ms', percent: 50 }, abort: { httpStatus: 503, percent: 10 } } },
      { name: 'old', match: [{ path: { prefix: '/v0/' } }], redirect: { path: '/v1/', status: 301 } },
      { name: 'main', backends: [{ version: 'v1', weight: 100 }], retries: { attempts: 2, on: ['5xx', 'cancelled'], retriableStatusCodes: [429], backoff: { base: '50ms', max: '1s' } }, requestHeaders: { set: { 'x-route': 'main' }, remove: ['x-debug'] } },
    ],
  }),
  res('MtlsPolicy', 'ledger-authz', 'pay', {
    scope: { service: 'ledger' },
    rules: [
      { name: 'no-writes-from-frontend', action: 'DENY', from: [{ services: [{ name: 'frontend' }] }], to: [{ methods: ['POST', 'DELETE'], ports: [8080] }] },
      { name: 'admin-only-checkout', action: 'DENY', from: [{ services: [{ name: 'frontend' }] }], to: [{ ports: [9901] }] },
      { name: 'audit-all', action: 'AUDIT', to: [{ paths: ['/accounts/*'] }] },
    ],
  }),
  res('MtlsPolicy', 'ledger-admin-plain', 'pay', { scope: { service: 'ledger', port: 9901 }, mode: 'STRICT' }),
];
