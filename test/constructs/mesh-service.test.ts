/** MeshService: identity, Service, per-version Deployments with the native sidecar, bootstrap, interception. */
import { parseBootstrap, RESERVED_PORTS } from '../../api/bootstrap';
import { resourceProblems } from '../../api/crds';
import { Interception, MeshService, MtlsMode, MtlsPolicy, Protocol } from '../../constructs';
import { objectProblems } from '../../constructs/validation/k8s-schema';
import { find, fixture, synth } from './support';

function reviews(extra: Partial<ConstructorParameters<typeof MeshService>[2]> = {}) {
  const f = fixture();
  const svc = new MeshService(f.chart, 'reviews', {
    mesh: f.mesh, port: 9080, protocol: Protocol.HTTP,
    versions: { v1: { image: 'registry.example/reviews:1.0.0' }, v2: { image: 'registry.example/reviews:2.0.0', replicas: 2 } },
    ...extra,
  });
  return { ...f, svc };
}

const pod = (d: any) => d.spec.template.spec;

test('synthesizes SA, Service, one Deployment + bootstrap per version and the MeshService resource (snapshot)', () => {
  const { chart } = reviews({ retries: { attempts: 2, on: ['5xx'], perTryTimeout: '200ms' }, timeout: '1s' });
  const objs = synth(chart).filter((o) => o.metadata.namespace === 'shop');
  expect(objs.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual([
    'ConfigMap/reviews-v1-weft', 'ConfigMap/reviews-v2-weft', 'Deployment/reviews-v1', 'Deployment/reviews-v2',
    'MeshService/reviews', 'Service/reviews', 'ServiceAccount/reviews',
  ]);
  expect(objs).toMatchSnapshot();
});

test('the proxy is a native sidecar: an initContainer with restartPolicy Always and probes on the admin port', () => {
  const objs = synth(reviews().chart);
  const d = find(objs, 'Deployment', 'reviews-v1');
  const proxy = pod(d).initContainers.find((c: any) => c.name === 'weft-proxy');
  expect(proxy.restartPolicy).toBe('Always');
  expect(pod(d).containers.map((c: any) => c.name)).toEqual(['reviews']);
  expect(proxy.readinessProbe.httpGet).toEqual({ path: '/ready', port: RESERVED_PORTS.admin });
  expect(proxy.startupProbe.httpGet.path).toBe('/ready');
  expect(proxy.securityContext).toMatchObject({
    runAsNonRoot: true, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false,
    capabilities: { drop: ['ALL'] }, seccompProfile: { type: 'RuntimeDefault' },
  });
  expect(proxy.resources).toEqual({ requests: { cpu: '50m', memory: '64Mi' }, limits: { memory: '256Mi' } });
  // The native sidecar comes after the iptables init, so the rules exist before the proxy starts.
  expect(pod(d).initContainers.map((c: any) => c.name)).toEqual(['weft-init', 'weft-proxy']);
});

test('only the iptables init container gets NET_ADMIN/NET_RAW, and its rules skip the proxy UID', () => {
  const objs = synth(reviews().chart);
  for (const d of objs.filter((o) => o.kind === 'Deployment')) {
    const all = [...(pod(d).initContainers ?? []), ...pod(d).containers];
    const privileged = all.filter((c: any) => (c.securityContext?.capabilities?.add ?? []).length);
    if (d.metadata.namespace === 'weft-system') { expect(privileged).toEqual([]); continue; }
    expect(privileged.map((c: any) => c.name)).toEqual(['weft-init']);
    expect(privileged[0].securityContext.capabilities).toEqual({ add: ['NET_ADMIN', 'NET_RAW'], drop: ['ALL'] });
    // No shell: iptables-restore loads the rules file the bootstrap ConfigMap carries.
    expect(privileged[0].command).toEqual(['iptables-restore', '--noflush', '/etc/weft/iptables.rules']);
    expect(privileged[0].volumeMounts).toEqual([{ name: 'weft-bootstrap', mountPath: '/etc/weft', readOnly: true }]);
    const rules = objs.find((o) => o.kind === 'ConfigMap' && o.metadata.name === `${d.metadata.name}-weft`).data['iptables.rules'];
    expect(rules).toContain('--uid-owner 1337 -j RETURN');
    expect(rules).toContain('--dport 9080 -j REDIRECT --to-ports 15006');
    expect(rules).toContain('REDIRECT --to-ports 15001');
    expect(rules.trim().split('\n').slice(-1)).toEqual(['COMMIT']);
  }
});

test('projected ServiceAccount token with audience weft, mounted where the bootstrap says', () => {
  const objs = synth(reviews().chart);
  const d = find(objs, 'Deployment', 'reviews-v2');
  const vol = pod(d).volumes.find((v: any) => v.name === 'weft-token');
  expect(vol.projected.sources[0].serviceAccountToken.audience).toBe('weft');
  const boot = JSON.parse(find(objs, 'ConfigMap', 'reviews-v2-weft').data['bootstrap.json']);
  const mount = pod(d).initContainers.find((c: any) => c.name === 'weft-proxy').volumeMounts.find((m: any) => m.name === 'weft-token');
  expect(boot.identity.tokenPath).toBe(`${mount.mountPath}/${vol.projected.sources[0].serviceAccountToken.path}`);
  expect(pod(d).automountServiceAccountToken).toBe(false);
});

test('the CA trust anchor: ConfigMap weft-ca-root (published by the control plane) mounted where the bootstrap says; the control plane may write it', () => {
  const objs = synth(reviews().chart);
  const d = find(objs, 'Deployment', 'reviews-v2');
  const vol = pod(d).volumes.find((v: any) => v.name === 'weft-ca-root');
  expect(vol.configMap).toEqual({ name: 'weft-ca-root', items: [{ key: 'root-cert.pem', path: 'root-cert.pem' }] });
  expect(vol.configMap.optional).toBeUndefined(); // the pod waits for the root rather than trusting nothing
  const boot = JSON.parse(find(objs, 'ConfigMap', 'reviews-v2-weft').data['bootstrap.json']);
  const mount = pod(d).initContainers.find((c: any) => c.name === 'weft-proxy').volumeMounts.find((m: any) => m.name === 'weft-ca-root');
  expect(mount.readOnly).toBe(true);
  expect(boot.identity.caTrustAnchorFile).toBe(`${mount.mountPath}/root-cert.pem`);
  expect(boot.identity.renewWithCertificate).toBeUndefined(); // Kubernetes renews with the projected token
  const role = objs.find((o: any) => o.kind === 'ClusterRole' && o.metadata.name === 'weft-control-plane-weft-system');
  expect(role.rules).toContainEqual({ apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'create', 'update'] });
});

test('the bootstrap parses with the proxy\'s own parser and uses the reserved ports', () => {
  const objs = synth(reviews().chart);
  const boot = parseBootstrap(JSON.parse(find(objs, 'ConfigMap', 'reviews-v2-weft').data['bootstrap.json']));
  expect(boot.node).toEqual({ id: 'reviews-v2', service: 'reviews', namespace: 'shop', version: 'v2', serviceAccount: 'reviews' });
  expect(boot.ports).toEqual({ ...RESERVED_PORTS, app: { http: 9080 } });
  // xDS over TLS (the bootstrap has a trust anchor), checked against the control plane's SPIFFE ID
  expect(boot.controlPlane).toEqual({ xds: 'weft-control-plane.weft-system.svc:15010', ca: 'weft-control-plane.weft-system.svc:15012', xdsIdentity: 'spiffe://shop.local/ns/weft-system/sa/weft-control-plane' });
  // PERMISSIVE (the mesh default): the proxy may serve before it holds a certificate.
  expect(boot.identity).toMatchObject({ trustDomain: 'shop.local', required: false });
});

test('identity.required is true exactly when every port of the service is STRICT', () => {
  const f = reviews();
  f.svc.addPort({ port: 5432, protocol: Protocol.TCP });
  new MtlsPolicy(f.chart, 'strict', { mesh: f.mesh, mode: MtlsMode.STRICT });
  const required = () => JSON.parse(find(synth(f.chart), 'ConfigMap', 'reviews-v1-weft').data['bootstrap.json']).identity.required;
  expect(required()).toBe(true);
  // A later policy opening one port makes the proxy accept plaintext again (policies count at synth).
  new MtlsPolicy(f.chart, 'db-open', { mesh: f.mesh, service: f.svc, port: 5432, mode: MtlsMode.PERMISSIVE });
  expect(required()).toBe(false);
});

test('labels app/version on Deployments, pods and selectors; Service ports carry appProtocol', () => {
  const { chart, svc } = reviews();
  svc.addPort({ port: 9090, protocol: Protocol.GRPC }).addPort({ port: 9443, protocol: Protocol.HTTP2, name: 'h2' }).addPort({ port: 5432, targetPort: 15432, protocol: Protocol.TCP });
  const objs = synth(chart);
  const d = find(objs, 'Deployment', 'reviews-v2');
  expect(d.metadata.labels).toEqual({ app: 'reviews', version: 'v2' });
  expect(d.spec.selector.matchLabels).toEqual({ app: 'reviews', version: 'v2' });
  expect(d.spec.template.metadata.labels).toEqual({ app: 'reviews', version: 'v2' });
  expect(d.spec.replicas).toBe(2);
  const s = find(objs, 'Service', 'reviews');
  expect(s.spec.selector).toEqual({ app: 'reviews' });
  expect(s.spec.ports.map((p: any) => [p.name, p.port, p.appProtocol, p.targetPort])).toEqual([
    ['http', 9080, 'http', 'http'], ['grpc', 9090, 'grpc', 'grpc'], ['h2', 9443, 'kubernetes.io/h2c', 'h2'], ['tcp', 5432, 'tcp', 'tcp'],
  ]);
  // addPort() after the constructor still reaches the container, the bootstrap and the custom resource (lazy render).
  expect(pod(d).containers[0].ports.map((p: any) => p.containerPort)).toEqual([9080, 9090, 9443, 15432]);
  expect(JSON.parse(find(objs, 'ConfigMap', 'reviews-v1-weft').data['bootstrap.json']).ports.app).toEqual({ http: 9080, grpc: 9090, h2: 9443, tcp: 15432 });
  expect(find(objs, 'MeshService', 'reviews').spec.ports).toHaveLength(4);
});

test('explicit interception: no privileged init, the app gets HTTP_PROXY to the outbound port', () => {
  const objs = synth(reviews({ interception: 'explicit' }).chart);
  const p = pod(find(objs, 'Deployment', 'reviews-v1'));
  expect(p.initContainers.map((c: any) => c.name)).toEqual(['weft-proxy']);
  expect(p.containers[0].env).toEqual(expect.arrayContaining([{ name: 'HTTP_PROXY', value: 'http://127.0.0.1:15001' }]));
  expect(find(objs, 'MeshService', 'reviews').spec.interception).toBe(Interception.EXPLICIT);
  expect(find(objs, 'ConfigMap', 'reviews-v1-weft').data['iptables.rules']).toBeUndefined();
});

test('meshed: false emits no sidecar or bootstrap and marks the resource', () => {
  const f = fixture();
  new MeshService(f.chart, 'legacy', { mesh: f.mesh, image: 'x:1', port: 8080, protocol: Protocol.HTTP, meshed: false });
  const objs = synth(f.chart);
  expect(pod(find(objs, 'Deployment', 'legacy-v1')).initContainers).toBeUndefined();
  expect(objs.filter((o) => o.kind === 'ConfigMap')).toEqual([]);
  expect(find(objs, 'MeshService', 'legacy').metadata.annotations).toEqual({ 'weft.dev/meshed': 'false' });
});

test('calls(), traffic policy and local run options land in the MeshService spec, which passes the CRD schema', () => {
  const f = fixture();
  const ratings = new MeshService(f.chart, 'ratings', { mesh: f.mesh, image: 'r:1', port: 8080, protocol: Protocol.HTTP });
  const svc = new MeshService(f.chart, 'reviews', {
    mesh: f.mesh, image: 'v:1', port: 9080, protocol: Protocol.HTTP,
    versions: { v1: { local: { command: ['node', 'reviews.js'], env: { VERSION: 'v1' } } } },
    connectionLimits: { maxConnections: 100 }, rateLimit: { requestsPerSecond: 50 },
    outlierDetection: { consecutive5xx: 5 },
  });
  svc.calls(ratings);
  const cr = find(synth(f.chart), 'MeshService', 'reviews');
  expect(resourceProblems(cr)).toEqual([]);
  expect(cr.spec.calls).toEqual([{ name: 'ratings', namespace: 'shop' }]);
  expect(cr.spec.versions[0].local).toEqual({ command: ['node', 'reviews.js'], env: { VERSION: 'v1' } });
  expect(cr.spec.trafficPolicy).toEqual({ connectionLimits: { maxConnections: 100 }, rateLimit: { requestsPerSecond: 50 }, outlierDetection: { consecutive5xx: 5 } });
});

test('every object passes the Kubernetes schema (kubernetes-models) or the weft CRD schema', () => {
  const objs = synth(reviews().chart);
  expect(objs.flatMap((o, i) => objectProblems(o, i))).toEqual([]);
});

test('mutators check their arguments: duplicate port, long port name, bad call target', () => {
  const { svc } = reviews();
  expect(() => svc.addPort({ port: 9080, protocol: Protocol.HTTP, name: 'other' })).toThrow(expect.objectContaining({ code: 'WEFT_ERR_DUPLICATE_NAME' }));
  expect(() => svc.addPort({ port: 81, protocol: Protocol.HTTP, name: 'a-very-long-port-name' })).toThrow(expect.objectContaining({ code: 'WEFT_ERR_INVALID_NAME' }));
  expect(() => svc.calls({ serviceName: 'Bad Name', namespace: 'shop' })).toThrow(expect.objectContaining({ code: 'WEFT_ERR_INVALID_NAME' }));
});

test('a version without an image fails synth naming the version', () => {
  const f = fixture();
  new MeshService(f.chart, 'x', { mesh: f.mesh, port: 80, protocol: Protocol.HTTP, versions: { v1: { image: 'a:1' }, v2: {} } });
  expect(() => synth(f.chart)).toThrow(expect.objectContaining({ code: 'WEFT_ERR_MISSING_PROP', prop: 'versions.v2.image' }));
});

test('the app UID is configurable but may not be the proxy\'s, whose traffic is never captured', () => {
  const objs = synth(reviews({ appUser: 101, readOnlyRootFilesystem: false }).chart);
  expect(pod(find(objs, 'Deployment', 'reviews-v1')).containers[0].securityContext).toMatchObject({ runAsUser: 101, readOnlyRootFilesystem: false, runAsNonRoot: true });
  expect(() => reviews({ appUser: 1337 })).toThrow(expect.objectContaining({ code: 'WEFT_ERR_INVALID_PROP', prop: 'appUser' }));
});
