/** Mesh: CRDs, MeshConfig, and the control-plane install (RBAC, HA Deployment, Service, PDB); no key material. */
import { App, Chart, Testing } from 'cdk8s';
import { allCrds } from '../../api/crds';
import { Mesh, MeshService, MtlsMode, MtlsPolicy, Protocol } from '../../constructs';
import { objectProblems } from '../../constructs/validation/k8s-schema';
import { find, fixture, synth } from './support';

test('synthesizes namespace, RBAC, Deployment, Service, PDB, CRDs and MeshConfig (snapshot)', () => {
  const { chart } = fixture();
  const objs = synth(chart);
  expect(objs.map((o) => o.kind).sort()).toEqual([
    'ClusterRole', 'ClusterRoleBinding', 'CustomResourceDefinition', 'CustomResourceDefinition', 'CustomResourceDefinition', 'CustomResourceDefinition',
    'Deployment', 'MeshConfig', 'Namespace', 'PodDisruptionBudget', 'Role', 'RoleBinding', 'Service', 'ServiceAccount',
  ]);
  // CRDs are compared with allCrds() below; the snapshot covers what this construct decides.
  expect(objs.filter((o) => o.kind !== 'CustomResourceDefinition')).toMatchSnapshot();
});

test('CRDs come from api/crds.ts allCrds() and apply before the MeshConfig', () => {
  const objs = synth(fixture().chart);
  const crds = objs.filter((o) => o.kind === 'CustomResourceDefinition');
  expect(crds).toEqual(allCrds());
  const at = (kind: string) => objs.findIndex((o) => o.kind === kind);
  expect(at('CustomResourceDefinition')).toBeLessThan(at('MeshConfig'));
  expect(at('Namespace')).toBeLessThan(at('Deployment'));
});

test('cluster-scoped objects carry no namespace even inside a namespaced chart', () => {
  const objs = synth(fixture().chart);
  for (const o of objs.filter((x) => ['Namespace', 'ClusterRole', 'ClusterRoleBinding', 'CustomResourceDefinition', 'MeshConfig'].includes(x.kind))) {
    expect(o.metadata.namespace).toBeUndefined();
  }
  for (const o of objs.filter((x) => ['Deployment', 'Service', 'ServiceAccount', 'Role', 'RoleBinding', 'PodDisruptionBudget'].includes(x.kind))) {
    expect(o.metadata.namespace).toBe('weft-system');
  }
});

test('control-plane Deployment: 2 replicas, anti-affinity, admin-port probes, restricted security context', () => {
  const d = find(synth(fixture().chart), 'Deployment', 'weft-control-plane');
  expect(d.spec.replicas).toBe(2);
  const pod = d.spec.template.spec;
  expect(pod.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].podAffinityTerm.topologyKey).toBe('kubernetes.io/hostname');
  const c = pod.containers[0];
  expect(c.image).toBe('ghcr.io/weft-mesh/weft:0.1.0');
  expect(c.args[0]).toBe('control-plane');
  expect(c.livenessProbe.httpGet).toEqual({ path: '/live', port: 'admin' });
  expect(c.readinessProbe.httpGet).toEqual({ path: '/ready', port: 'admin' });
  expect(c.ports.find((p: any) => p.name === 'admin').containerPort).toBe(15014);
  expect(c.securityContext).toEqual({
    runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false,
    privileged: false, capabilities: { drop: ['ALL'] }, seccompProfile: { type: 'RuntimeDefault' },
  });
  expect(pod.securityContext).toEqual({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
});

test('RBAC: watch services/endpointslices/pods/weft.dev, create TokenReviews, update status; Secrets only in its namespace', () => {
  const objs = synth(fixture().chart);
  const rules = find(objs, 'ClusterRole', 'weft-control-plane-weft-system').rules;
  const can = (group: string, resource: string, verb: string) => rules.some((r: any) => r.apiGroups.includes(group) && r.resources.includes(resource) && r.verbs.includes(verb));
  expect(can('', 'services', 'watch') && can('', 'pods', 'watch') && can('discovery.k8s.io', 'endpointslices', 'watch')).toBe(true);
  for (const r of ['meshconfigs', 'meshservices', 'canaryroutes', 'mtlspolicies']) {
    expect(can('weft.dev', r, 'watch')).toBe(true);
    expect(can('weft.dev', `${r}/status`, 'update')).toBe(true);
  }
  expect(can('authentication.k8s.io', 'tokenreviews', 'create')).toBe(true);
  expect(rules.some((r: any) => r.resources.includes('secrets'))).toBe(false);
  const role = find(objs, 'Role', 'weft-control-plane');
  expect(role.metadata.namespace).toBe('weft-system');
  expect(role.rules.find((r: any) => r.resources.includes('secrets')).verbs).toEqual(['get', 'create', 'update']);
  expect(find(objs, 'RoleBinding', 'weft-control-plane').subjects).toEqual([{ kind: 'ServiceAccount', name: 'weft-control-plane', namespace: 'weft-system' }]);
});

test('Service exposes xDS and CA ports; PDB keeps one replica', () => {
  const objs = synth(fixture().chart);
  const ports = find(objs, 'Service', 'weft-control-plane').spec.ports;
  expect(ports.map((p: any) => [p.name, p.port, p.appProtocol])).toEqual([['grpc-xds', 15010, 'grpc'], ['grpc-ca', 15012, 'grpc'], ['http-admin', 15014, 'http']]);
  expect(find(objs, 'PodDisruptionBudget', 'weft-control-plane').spec).toEqual({ minAvailable: 1, selector: { matchLabels: { app: 'weft-control-plane' } } });
});

test('no Secret and no key material is ever synthesized', () => {
  const f = fixture();
  new MeshService(f.chart, 'a', { mesh: f.mesh, image: 'a:1', port: 80, protocol: Protocol.HTTP });
  const objs = synth(f.chart);
  expect(objs.filter((o) => o.kind === 'Secret')).toEqual([]);
  expect(JSON.stringify(objs)).not.toMatch(/PRIVATE KEY|BEGIN CERTIFICATE/);
});

test('MeshConfig carries the mesh defaults; image repository and tag are configurable', () => {
  const f = fixture({ trustDomain: 'corp.example', imageRepository: 'registry.local/weft', imageTag: '9.9.9', namespace: 'mesh-system', proxyResources: { cpuLimit: '1' } });
  const objs = synth(f.chart);
  const spec = find(objs, 'MeshConfig', 'mesh').spec;
  expect(spec).toMatchObject({
    trustDomain: 'corp.example', defaultMtlsMode: 'PERMISSIVE', proxyImage: 'registry.local/weft:9.9.9', controlPlaneImage: 'registry.local/weft:9.9.9',
    controlPlane: { namespace: 'mesh-system', service: 'weft-control-plane', xdsPort: 15010, caPort: 15012 }, certificateTtl: '24h',
    proxyResources: { cpuRequest: '50m', memoryRequest: '64Mi', memoryLimit: '256Mi', cpuLimit: '1' },
  });
  expect(find(objs, 'Deployment', 'weft-control-plane').metadata.namespace).toBe('mesh-system');
});

test('a mesh-wide MtlsPolicy mode is mirrored into MeshConfig.defaultMtlsMode', () => {
  const f = fixture();
  new MtlsPolicy(f.chart, 'strict', { mesh: f.mesh, mode: MtlsMode.STRICT });
  expect(find(synth(f.chart), 'MeshConfig', 'mesh').spec.defaultMtlsMode).toBe('STRICT');
  expect(() => new MtlsPolicy(f.chart, 'loose', { mesh: f.mesh, mode: MtlsMode.PERMISSIVE })).toThrow(expect.objectContaining({ code: 'WEFT_ERR_INVALID_SCOPE' }));
});

test('services in another chart and namespace reference the mesh', () => {
  const app = Testing.app();
  const infra = new Chart(app, 'infra');
  const mesh = new Mesh(infra, 'mesh');
  const shop = new Chart(app, 'shop', { namespace: 'shop' });
  new MeshService(shop, 'cart', { mesh, image: 'cart:1', port: 8080, protocol: Protocol.GRPC });
  const objs = synth(shop);
  expect(find(objs, 'MeshService', 'cart').metadata.namespace).toBe('shop');
  expect(JSON.parse(find(objs, 'ConfigMap', 'cart-v1-weft').data['bootstrap.json']).identity.trustDomain).toBe('cluster.local');
});

test('every control-plane object passes the Kubernetes schemas', () => {
  const objs = synth(fixture().chart);
  expect(objs.flatMap((o, i) => objectProblems(o, i))).toEqual([]);
});

test('bad mesh props are rejected with codes', () => {
  const app = new App({ outdir: '/nonexistent' });
  const c = new Chart(app, 'c');
  expect(() => new Mesh(c, 'm', { trustDomain: 'Not A Domain' })).toThrow(expect.objectContaining({ code: 'WEFT_ERR_INVALID_NAME' }));
  const c2 = new Chart(new App({ outdir: '/nonexistent' }), 'c');
  expect(() => new Mesh(c2, 'm', { certificateTtl: 'a day' })).toThrow(expect.objectContaining({ code: 'WEFT_ERR_INVALID_PROP' }));
});

test('proxylessXds: a plaintext xDS port (15011) for proxyless gRPC clients, off by default; sidecars keep TLS on 15010', () => {
  const plain = (objs: ReturnType<typeof synth>) => ({
    args: find(objs, 'Deployment', 'weft-control-plane').spec.template.spec.containers[0].args as string[],
    ports: (find(objs, 'Service', 'weft-control-plane').spec.ports as { name: string; port: number }[]).map((p) => `${p.name}:${p.port}`),
  });
  const off = plain(synth(fixture().chart));
  expect(off.args.some((a) => a.startsWith('--xds-plaintext-port'))).toBe(false);
  expect(off.ports).not.toContain('grpc-xds-plain:15011');
  const app = Testing.app();
  const chart = new Chart(app, 'c');
  const mesh = new Mesh(chart, 'mesh', { proxylessXds: true });
  const on = plain(synth(chart));
  expect(on.args).toContain('--xds-plaintext-port=15011');
  expect(on.ports).toContain('grpc-xds-plain:15011');
  expect(mesh.xdsPlaintextAddress).toBe('weft-control-plane.weft-system.svc:15011');
  for (const o of synth(chart)) expect(objectProblems(o)).toEqual([]);
});
