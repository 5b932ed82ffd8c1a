/** The foundation issue's example, verbatim in shape: it must type-check (tsc covers test/) and synthesize. */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, Chart } from 'cdk8s';
import { parseAllDocuments } from 'yaml';
import { Mesh, MeshService, CanaryRoute, MtlsPolicy, MtlsMode, Protocol } from '../../constructs';

test('the issue example synthesizes CRDs, control plane, workloads with native sidecars and the custom resources', () => {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-issue-'));
  try {
    const app = new App({ outdir });
    const chart = new Chart(app, 'shop', { namespace: 'shop' });
    const mesh = new Mesh(chart, 'mesh', { trustDomain: 'shop.local' });
    const ratings = new MeshService(chart, 'ratings', { mesh, image: 'registry.example/ratings:1.4.0', port: 8080, protocol: Protocol.HTTP });
    const reviews = new MeshService(chart, 'reviews', {
      mesh, port: 9080, protocol: Protocol.HTTP,
      versions: { v1: { image: 'registry.example/reviews:1.0.0' }, v2: { image: 'registry.example/reviews:2.0.0', replicas: 1 } },
      retries: { attempts: 3, on: ['5xx', 'reset', 'connect-failure'], perTryTimeout: '500ms' },
      timeout: '2s',
    });
    reviews.calls(ratings);
    new CanaryRoute(chart, 'reviews-canary', { service: reviews, split: { v1: 90, v2: 10 }, match: [{ headers: { 'x-canary': 'always' }, to: 'v2' }] });
    new MtlsPolicy(chart, 'strict', { mesh, mode: MtlsMode.STRICT });
    app.synth();

    const docs = parseAllDocuments(fs.readFileSync(path.join(outdir, 'shop.k8s.yaml'), 'utf8')).map((d) => d.toJS());
    const names = docs.map((d) => `${d.kind}/${d.metadata.name}`);
    expect(names).toEqual(expect.arrayContaining([
      'CustomResourceDefinition/meshservices.weft.dev', 'MeshConfig/mesh', 'Deployment/weft-control-plane',
      'Deployment/ratings-v1', 'Deployment/reviews-v1', 'Deployment/reviews-v2',
      'MeshService/ratings', 'MeshService/reviews', 'CanaryRoute/reviews-canary', 'MtlsPolicy/strict',
    ]));
    const v2 = docs.find((d) => d.kind === 'Deployment' && d.metadata.name === 'reviews-v2');
    expect(v2.spec.template.spec.initContainers.find((c: any) => c.name === 'weft-proxy').restartPolicy).toBe('Always');
    expect(docs.find((d) => d.kind === 'MeshService' && d.metadata.name === 'reviews').spec.calls).toEqual([{ name: 'ratings', namespace: 'shop' }]);
  } finally {
    fs.rmSync(outdir, { recursive: true, force: true });
  }
});
