/** The EndpointSlice × Pod × Service join, on hand-written objects for the edge cases recordings lack. */
import { deriveEndpoints, hasSidecar } from '../../../control-plane/sources/k8s-endpoints';
import { conditionsFor, sameConditions } from '../../../control-plane/sources/conditions';

const pod = (name: string, version: string | undefined, sidecar: 'init' | 'container' | 'none') => ({
  metadata: { name, namespace: 'shop', labels: { app: 'web', ...(version ? { version } : {}) } },
  spec: {
    serviceAccountName: 'web',
    containers: [{ name: 'web' }, ...(sidecar === 'container' ? [{ name: 'weft-proxy' }] : [])],
    ...(sidecar === 'init' ? { initContainers: [{ name: 'weft-proxy', restartPolicy: 'Always' }] } : {}),
  },
});
const ep = (ip: string, podName: string | undefined, conditions: Record<string, boolean | undefined>) => ({
  addresses: [ip],
  conditions,
  ...(podName ? { targetRef: { kind: 'Pod', name: podName, namespace: 'shop' } } : {}),
});
const slice = (name: string, addressType: string, endpoints: unknown[], service = 'web') => ({
  metadata: { name, namespace: 'shop', labels: { 'kubernetes.io/service-name': service } },
  addressType,
  endpoints: endpoints as never,
  ports: [{ name: 'http', port: 8080 }, { name: 'metrics', port: 9100 }],
});

test('readiness, draining, dual stack, FQDN slices, missing pods and non-mesh services', () => {
  const mismatches: string[] = [];
  const impostor = { ...pod('web-f', 'v1', 'init'), spec: { ...pod('web-f', 'v1', 'init').spec, serviceAccountName: 'default' } };
  const out = deriveEndpoints({
    meshServices: new Map([['shop/web', 'web']]),
    onIdentityMismatch: (p, runsAs, expected) => mismatches.push(`${p} ${runsAs}!=${expected}`),
    services: [{ metadata: { name: 'web', namespace: 'shop' }, spec: { ports: [{ name: 'http', port: 80 }, { name: 'metrics', port: 9100 }] } }],
    pods: [pod('web-a', 'v1', 'init'), pod('web-b', 'v2', 'container'), pod('web-c', undefined, 'none'), pod('web-d', 'v1', 'init'), impostor],
    slices: [
      slice('web-v6', 'IPv6', [ep('fd00::a', 'web-a', { ready: true })]),
      slice('web-v4', 'IPv4', [
        ep('10.0.0.1', 'web-a', { ready: true }),
        ep('10.0.0.2', 'web-b', {}), // nil ready means ready
        ep('10.0.0.3', 'web-c', { ready: true }),
        ep('10.0.0.4', 'web-d', { ready: false, serving: true, terminating: true }),
        ep('10.0.0.5', 'web-e', { ready: false, serving: false }), // starting up: not an endpoint yet
        ep('10.0.0.6', undefined, { ready: true }), // no pod behind it (manual slice)
        ep('10.0.0.7', 'web-f', { ready: true }), // meshed, but under the wrong ServiceAccount
      ]),
      slice('web-fqdn', 'FQDN', [ep('web.example.com', undefined, { ready: true })]),
      slice('other', 'IPv4', [ep('10.0.9.9', 'x', { ready: true })], 'not-in-mesh'),
    ],
  });
  expect(out.map((e) => [e.instance, e.version, e.address, JSON.stringify(e.ports), e.ready, e.meshed])).toEqual([
    ['10.0.0.6', 'default', '10.0.0.6', '{"http":8080,"metrics":9100}', true, false],
    ['web-c', 'default', '10.0.0.3', '{"http":8080,"metrics":9100}', true, false],
    ['web-a', 'v1', '10.0.0.1', '{"http":15006,"metrics":15006}', true, true],
    ['web-d', 'v1', '10.0.0.4', '{"http":15006,"metrics":15006}', false, true],
    ['web-b', 'v2', '10.0.0.2', '{"http":15006,"metrics":15006}', true, true],
  ]);
  expect(mismatches).toEqual(['shop/web-f default!=web']);
  expect(hasSidecar(undefined)).toBe(false);
  expect(hasSidecar(pod('p', 'v1', 'init'), 'other-proxy')).toBe(false);
});

test('conditions keep their transition time unless the status flips', () => {
  const t0 = new Date('2026-01-01T00:00:00Z');
  const t1 = new Date('2026-01-02T00:00:00Z');
  const ok = { kind: 'MeshService', namespace: 'shop', name: 'web', accepted: true, resolvedRefs: true, reason: 'Accepted', message: '' };
  const first = conditionsFor(ok, 3, undefined, t0);
  expect(first.map((c) => [c.type, c.status, c.reason, c.observedGeneration, c.lastTransitionTime])).toEqual([
    ['Accepted', 'True', 'Accepted', 3, '2026-01-01T00:00:00Z'],
    ['ResolvedRefs', 'True', 'ResolvedRefs', 3, '2026-01-01T00:00:00Z'],
  ]);
  const flipped = conditionsFor({ ...ok, resolvedRefs: false, reason: 'UnresolvedRefs', message: 'calls x', code: 'WEFT_ERR_MODEL_UNKNOWN_SERVICE' }, 3, first, t1);
  expect(flipped.map((c) => c.lastTransitionTime)).toEqual(['2026-01-01T00:00:00Z', '2026-01-02T00:00:00Z']);
  expect(flipped[1].message).toBe('WEFT_ERR_MODEL_UNKNOWN_SERVICE: calls x');
  expect(sameConditions(first, conditionsFor(ok, 3, first, t1))).toBe(true);
  expect(sameConditions(first, conditionsFor(ok, 4, first, t1))).toBe(false); // new generation must be recorded
});
