/** The `observability` prop of Mesh and MeshService: checked at synth, rendered into each sidecar's bootstrap. */
import { Mesh, MeshService, Protocol } from '../../constructs';
import { parseBootstrap } from '../../api/bootstrap';
import { expectCode, find, fixture, synth } from './support';
import { App, Chart, Testing } from 'cdk8s';

const IMG = 'registry.example/app:1';

function bootstrapOf(objs: any[], name: string) {
  return parseBootstrap(JSON.parse(find(objs, 'ConfigMap', `${name}-weft`).data['bootstrap.json']));
}

test('the issue\'s Mesh shape turns tracing and access logs on in every sidecar\'s bootstrap ConfigMap', () => {
  const { chart, mesh } = fixture({
    trustDomain: 'shop.local',
    observability: { tracing: { sampleRate: 1, otlpEndpoint: 'http://127.0.0.1:4318' }, accessLogs: true },
  });
  new MeshService(chart, 'reviews', { mesh, image: IMG, port: 9080, protocol: Protocol.HTTP, versions: { v1: {}, v2: {} } });
  new MeshService(chart, 'ratings', { mesh, image: IMG, port: 9080, protocol: Protocol.HTTP });
  const objs = synth(chart);
  for (const name of ['reviews-v1', 'reviews-v2', 'ratings-v1']) {
    const b = bootstrapOf(objs, name);
    expect(b.tracing).toEqual({ sampleRate: 1, otlpEndpoint: 'http://127.0.0.1:4318' });
    expect(b.accessLog).toBe(true);
  }
  // the MeshConfig carries it too: `weft up` and the control plane read it from there
  expect(find(objs, 'MeshConfig', 'mesh').spec.observability).toEqual({ tracing: { sampleRate: 1, otlpEndpoint: 'http://127.0.0.1:4318' }, accessLogs: true });
});

test('without the prop the bootstrap has neither field (off)', () => {
  const { chart, mesh } = fixture();
  new MeshService(chart, 'ratings', { mesh, image: IMG, port: 9080, protocol: Protocol.HTTP });
  const b = bootstrapOf(synth(chart), 'ratings-v1');
  expect(b.tracing).toBeUndefined();
  expect(b.accessLog).toBeUndefined();
});

test('a MeshService overrides the mesh field by field; the override is in its custom resource', () => {
  const { chart, mesh } = fixture({ trustDomain: 'shop.local', observability: { tracing: { sampleRate: 0.05, otlpEndpoint: 'http://otel.observability:4318' }, accessLogs: true } });
  new MeshService(chart, 'reviews', { mesh, image: IMG, port: 9080, protocol: Protocol.HTTP, observability: { tracing: { sampleRate: 1, protocol: 'http/json' }, accessLogs: false } });
  new MeshService(chart, 'ratings', { mesh, image: IMG, port: 9080, protocol: Protocol.HTTP });
  const objs = synth(chart);
  const reviews = bootstrapOf(objs, 'reviews-v1');
  expect(reviews.tracing).toEqual({ sampleRate: 1, otlpEndpoint: 'http://otel.observability:4318', protocol: 'http/json' });
  expect(reviews.accessLog).toBeUndefined();
  expect(bootstrapOf(objs, 'ratings-v1').tracing).toEqual({ sampleRate: 0.05, otlpEndpoint: 'http://otel.observability:4318' });
  expect(find(objs, 'MeshService', 'reviews').spec.observability).toEqual({ tracing: { sampleRate: 1, protocol: 'http/json' }, accessLogs: false });
});

test('tracing without a rate samples 1% (Istio\'s default)', () => {
  const { chart, mesh } = fixture({ trustDomain: 'shop.local', observability: { tracing: { otlpEndpoint: 'https://otel:4318/' } } });
  new MeshService(chart, 'ratings', { mesh, image: IMG, port: 9080, protocol: Protocol.HTTP });
  expect(bootstrapOf(synth(chart), 'ratings-v1').tracing).toEqual({ sampleRate: 0.01, otlpEndpoint: 'https://otel:4318/' });
});

describe('bad values are coded errors naming the prop and the construct', () => {
  const mesh = (observability: unknown) => () => {
    const app: App = Testing.app();
    new Mesh(new Chart(app, 'shop'), 'mesh', { observability: observability as never });
  };
  test.each([1.5, -0.1, Number.NaN, '1'])('sampleRate %p', (rate) => {
    const err = expectCode(mesh({ tracing: { sampleRate: rate } }), 'WEFT_ERR_INVALID_SAMPLE_RATE');
    expect(err.prop).toBe('observability.tracing.sampleRate');
    expect(err.path).toBe('shop/mesh');
  });
  test.each(['127.0.0.1:4318', 'grpc://otel:4317', 'http://user:pw@otel:4318', 'http://otel:4318/?x=1', 'not a url', 42])('otlpEndpoint %p', (url) => {
    const err = expectCode(mesh({ tracing: { otlpEndpoint: url } }), 'WEFT_ERR_INVALID_OTLP_ENDPOINT');
    expect(err.prop).toBe('observability.tracing.otlpEndpoint');
  });
  test('on a MeshService', () => {
    const { chart, mesh: m } = fixture();
    const err = expectCode(() => new MeshService(chart, 'reviews', { mesh: m, image: IMG, port: 9080, protocol: Protocol.HTTP, observability: { tracing: { sampleRate: 2 } } }), 'WEFT_ERR_INVALID_SAMPLE_RATE');
    expect(err.path).toBe('shop/reviews');
  });
  test('protocol and accessLogs', () => {
    expectCode(mesh({ tracing: { protocol: 'grpc' } }), 'WEFT_ERR_INVALID_PROP');
    expectCode(mesh({ accessLogs: 'yes' }), 'WEFT_ERR_INVALID_PROP');
  });
});

test('meshed pods carry the prometheus.io annotations for the admin port; unmeshed pods do not', () => {
  const { chart, mesh } = fixture();
  new MeshService(chart, 'reviews', { mesh, image: IMG, port: 9080, protocol: Protocol.HTTP });
  new MeshService(chart, 'legacy', { mesh, image: IMG, port: 8080, protocol: Protocol.HTTP, meshed: false });
  const objs = synth(chart);
  const annotations = (name: string) => find(objs, 'Deployment', name).spec.template.metadata.annotations;
  expect(annotations('reviews-v1')).toMatchObject({ 'prometheus.io/scrape': 'true', 'prometheus.io/port': '15020', 'prometheus.io/path': '/metrics' });
  expect(annotations('legacy-v1')['prometheus.io/scrape']).toBeUndefined();
  // the port the annotation names is the sidecar's named admin port, and the admin listener binds the pod IP
  const proxy = find(objs, 'Deployment', 'reviews-v1').spec.template.spec.initContainers.find((c: any) => c.name === 'weft-proxy');
  expect(proxy.ports).toContainEqual({ name: 'weft-admin', containerPort: 15020, protocol: 'TCP' });
  expect(bootstrapOf(objs, 'reviews-v1').adminBindAddress).toBe('0.0.0.0');
});

test('podMonitor: one PodMonitor in the mesh namespace scraping every sidecar\'s weft-admin port; none by default', () => {
  const on = fixture({ trustDomain: 'shop.local', observability: { podMonitor: true } });
  const pm = synth(on.chart).filter((o) => o.kind === 'PodMonitor');
  expect(pm).toHaveLength(1);
  expect(pm[0]).toMatchObject({
    apiVersion: 'monitoring.coreos.com/v1', metadata: { name: 'weft-proxies', namespace: 'weft-system' },
    spec: { namespaceSelector: { any: true }, podMetricsEndpoints: [{ port: 'weft-admin', path: '/metrics', interval: '15s' }] },
  });
  expect(find(synth(on.chart), 'MeshConfig', 'mesh').spec.observability).toBeUndefined();
  expect(synth(fixture().chart).filter((o) => o.kind === 'PodMonitor')).toHaveLength(0);
  const { chart, mesh } = fixture();
  expectCode(() => new MeshService(chart, 'r', { mesh, image: IMG, port: 80, protocol: Protocol.HTTP, observability: { podMonitor: true } }), 'WEFT_ERR_INVALID_PROP');
});
