/** Escape hatches (issue #11.6): deployment(version), app resources and probes, sidecar overrides, mesh references, per-mesh RBAC names. */
import { App, Chart, JsonPatch, Testing } from 'cdk8s';
import { Mesh, MeshService, MtlsMode, MtlsPolicy, Protocol } from '../../constructs';
import { expectCode, find, fixture, synth } from './support';

const IMG = 'registry.example/app:1';
const containers = (objs: any[], name: string) => find(objs, 'Deployment', name).spec.template.spec;

test('deployment(version) returns the Deployment construct; a JSON patch on it lands in the manifest', () => {
  const { chart, mesh } = fixture();
  const svc = new MeshService(chart, 'reviews', { mesh, image: IMG, port: 9080, protocol: Protocol.HTTP, ingress: true, versions: { v1: {}, v2: {} } });
  const d = svc.deployment('v2');
  expect(d.kind).toBe('Deployment');
  expect(d.name).toBe('reviews-v2');
  d.addJsonPatch(JsonPatch.add('/spec/template/spec/priorityClassName', 'high'));
  expect(containers(synth(chart), 'reviews-v2').priorityClassName).toBe('high');
  expect(expectCode(() => svc.deployment('v3'), 'WEFT_ERR_UNKNOWN_VERSION').fix).toContain('v1, v2');
});

test('app resources (service-wide, per-version override) and typed probes render on the app container', () => {
  const { chart, mesh } = fixture();
  new MeshService(chart, 'api', {
    mesh, image: IMG, ingress: true,
    ports: [{ port: 8080, protocol: Protocol.HTTP }, { port: 9090, protocol: Protocol.HTTP, name: 'health' }],
    resources: { cpuRequest: '100m', memoryRequest: '128Mi', memoryLimit: '256Mi' },
    versions: { v1: {}, v2: { resources: { cpuRequest: '1', memoryLimit: '1Gi' } } },
    probes: {
      readiness: { httpGet: { path: '/ready', port: 'health' }, periodSeconds: 5 },
      liveness: { tcpSocket: {}, failureThreshold: 6 },
      startup: { exec: { command: ['/bin/check'] }, initialDelaySeconds: 2 },
    },
  });
  const objs = synth(chart);
  const app = (v: string) => containers(objs, `api-${v}`).containers[0];
  expect(app('v1').resources).toEqual({ requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '256Mi' } });
  expect(app('v2').resources).toEqual({ requests: { cpu: '1' }, limits: { memory: '1Gi' } });
  expect(app('v1').readinessProbe).toEqual({ httpGet: { path: '/ready', port: 9090 }, periodSeconds: 5 });
  expect(app('v1').livenessProbe).toEqual({ tcpSocket: { port: 8080 }, failureThreshold: 6 });
  expect(app('v1').startupProbe).toEqual({ exec: { command: ['/bin/check'] }, initialDelaySeconds: 2 });
});

test('bad resources and probes are rejected with the prop named', () => {
  const { chart, mesh } = fixture();
  const mk = (id: string, extra: object) => () => new MeshService(chart, id, { mesh, image: IMG, port: 80, protocol: Protocol.HTTP, ...extra });
  expect(expectCode(mk('a', { resources: { cpuRequest: '100 millicores' } }), 'WEFT_ERR_INVALID_PROP').prop).toBe('resources.cpuRequest');
  expect(expectCode(mk('b', { probes: { readiness: { httpGet: { path: '/r' }, exec: { command: ['x'] } } } }), 'WEFT_ERR_INVALID_PROP').prop).toBe('probes.readiness');
  expect(expectCode(mk('c', { probes: { liveness: { httpGet: { path: 'r' } } } }), 'WEFT_ERR_INVALID_PROP').prop).toBe('probes.liveness.httpGet.path');
  expect(expectCode(mk('d', { probes: { startup: { tcpSocket: {}, periodSeconds: 0 } } }), 'WEFT_ERR_INVALID_PROP').prop).toBe('probes.startup.periodSeconds');
  expect(expectCode(mk('e', { sidecar: { logLevel: 'loud' } }), 'WEFT_ERR_INVALID_PROP').prop).toBe('sidecar.logLevel');
  const { chart: c2, mesh: m2 } = fixture();
  new MeshService(c2, 'f', { mesh: m2, image: IMG, port: 80, protocol: Protocol.HTTP, ingress: true, probes: { readiness: { httpGet: { path: '/r', port: 'admin' } } } });
  expect(expectCode(() => synth(c2), 'WEFT_ERR_UNKNOWN_PORT').prop).toBe('probes.readiness.port');
});

test('a probe on a port the service does not declare passes under STRICT (iptables leaves it alone)', () => {
  const { chart, mesh } = fixture();
  new MeshService(chart, 'api', { mesh, image: IMG, port: 8080, protocol: Protocol.HTTP, ingress: true, probes: { readiness: { httpGet: { path: '/ready', port: 8081 } } } });
  new MtlsPolicy(chart, 'strict', { mesh, mode: MtlsMode.STRICT });
  expect(containers(synth(chart), 'api-v1').containers[0].readinessProbe.httpGet.port).toBe(8081);
});

test('sidecar overrides: per-service resources fall back field by field to the Mesh, log level as WEFT_LOG_LEVEL', () => {
  const { chart, mesh } = fixture({ trustDomain: 'shop.local', proxyResources: { cpuRequest: '50m', memoryLimit: '256Mi' } });
  new MeshService(chart, 'hot', { mesh, image: IMG, port: 80, protocol: Protocol.HTTP, ingress: true, sidecar: { resources: { cpuRequest: '500m', cpuLimit: '2' }, logLevel: 'debug' } });
  new MeshService(chart, 'cold', { mesh, image: IMG, port: 80, protocol: Protocol.HTTP, ingress: true });
  const objs = synth(chart);
  const proxy = (n: string) => containers(objs, `${n}-v1`).initContainers.find((c: any) => c.name === 'weft-proxy');
  expect(proxy('hot').resources).toEqual({ requests: { cpu: '500m', memory: '64Mi' }, limits: { cpu: '2', memory: '256Mi' } });
  expect(proxy('hot').env).toContainEqual({ name: 'WEFT_LOG_LEVEL', value: 'debug' });
  expect(proxy('cold').resources).toEqual({ requests: { cpu: '50m', memory: '64Mi' }, limits: { memory: '256Mi' } });
  expect(proxy('cold').env.some((e: any) => e.name === 'WEFT_LOG_LEVEL')).toBe(false);
});

test('Mesh.fromExisting: a team repo adds services without CRDs, MeshConfig or control plane, still checked against the mesh', () => {
  const app = Testing.app();
  const chart = new Chart(app, 'team', { namespace: 'orders' });
  const mesh = Mesh.fromExisting(chart, 'mesh', { trustDomain: 'corp.local', namespace: 'weft-system', defaultMtlsMode: MtlsMode.STRICT, defaultInboundPolicy: 'allow' });
  expect(mesh.installsControlPlane).toBe(false);
  const orders = new MeshService(chart, 'orders', { mesh, image: IMG, port: 80, protocol: Protocol.HTTP, ingress: true });
  const objs = synth(chart);
  expect(objs.map((o) => o.kind).sort()).toEqual(['ConfigMap', 'Deployment', 'MeshService', 'Service', 'ServiceAccount']);
  // The proxies still dial the installed control plane and check its identity in the mesh's trust domain.
  const boot = JSON.parse(find(objs, 'ConfigMap', 'orders-v1-weft').data['bootstrap.json']);
  expect(boot.controlPlane).toEqual({ xds: 'weft-control-plane.weft-system.svc:15010', ca: 'weft-control-plane.weft-system.svc:15012', xdsIdentity: 'spiffe://corp.local/ns/weft-system/sa/weft-control-plane' });
  // The mesh's STRICT default is known to the checks: the sidecar requires a certificate.
  expect(boot.identity.required).toBe(true);
  expect(orders.identity).toBe('spiffe://corp.local/ns/orders/sa/orders');
  // …and the checks still run: a self-call fails synth.
  orders.calls(orders);
  expectCode(() => synth(chart), 'WEFT_ERR_SELF_CALL');
});

test('a team repository may call and admit services of other repositories; nothing warns that its services have no caller', () => {
  const app = Testing.app();
  const chart = new Chart(app, 'team', { namespace: 'orders' });
  const mesh = Mesh.fromExisting(chart, 'mesh', { trustDomain: 'corp.local', defaultMtlsMode: MtlsMode.PERMISSIVE, defaultInboundPolicy: 'deny' });
  const orders = new MeshService(chart, 'orders', { mesh, image: IMG, port: 80, protocol: Protocol.HTTP });
  // payments and web live in other repositories of the same mesh
  orders.calls({ serviceName: 'payments', namespace: 'payments' });
  new MtlsPolicy(chart, 'orders-callers', { mesh, service: orders }).allow({ from: { services: [{ serviceName: 'web', namespace: 'web' }] } });
  const objs = synth(chart);
  expect(find(objs, 'MeshService', 'orders').spec.calls).toEqual([{ name: 'payments', namespace: 'payments' }]);
  expect(orders.node.metadata.filter((m) => m.type === 'weft:warning')).toEqual([]);
  // The same in an app that installs the mesh is an error: there every service is known.
  const { chart: c2, mesh: m2 } = fixture();
  new MeshService(c2, 'orders', { mesh: m2, image: IMG, port: 80, protocol: Protocol.HTTP, ingress: true }).calls({ serviceName: 'payments', namespace: 'payments' });
  expectCode(() => synth(c2), 'WEFT_ERR_UNKNOWN_SERVICE');
});

test('installControlPlane: false is the same as fromExisting', () => {
  const app = Testing.app();
  const chart = new Chart(app, 'team');
  new Mesh(chart, 'mesh', { installControlPlane: false });
  expect(synth(chart)).toEqual([]);
});

test('two meshes in one cluster (two apps, two control-plane namespaces) have distinct cluster-scoped RBAC names', () => {
  const names = (ns: string) => {
    const app = new App({ outdir: Testing.app().outdir });
    const chart = new Chart(app, 'c');
    new Mesh(chart, 'mesh', { namespace: ns });
    const objs = synth(chart);
    const role = objs.find((o) => o.kind === 'ClusterRole');
    const binding = objs.find((o) => o.kind === 'ClusterRoleBinding');
    expect(binding.roleRef.name).toBe(role.metadata.name);
    return [role.metadata.name, binding.metadata.name];
  };
  const a = names('weft-a');
  const b = names('weft-b');
  expect(a).toEqual(['weft-control-plane-weft-a', 'weft-control-plane-weft-a']);
  expect(b.some((n) => a.includes(n))).toBe(false);
});
