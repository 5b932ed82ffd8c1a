/** The cdk8s validation plugin and its offline checks, run through cdk8s-cli's real ValidationContext. */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { stringify } from 'yaml';
import { manifestProblems, modelFor, nativeSidecarProblems, objectProblems } from '../../constructs/validation/k8s-schema';
import { WeftManifestValidation } from '../../constructs/validation/plugin';
import { MeshService, Protocol } from '../../constructs';
import { find, fixture, synth } from './support';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { ValidationContext } = require('cdk8s-cli/plugins') as { ValidationContext: new (m: string[], pkg: string, v: string, meta: object, stdout: boolean) => any };

let dir: string;
beforeAll(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-plugin-')); });
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function meshObjects() {
  const f = fixture();
  new MeshService(f.chart, 'web', { mesh: f.mesh, image: 'w:1', port: 8080, protocol: Protocol.HTTP });
  return synth(f.chart);
}

async function runPlugin(docs: unknown[]) {
  const file = path.join(dir, `m${Math.random().toString(36).slice(2)}.k8s.yaml`);
  fs.writeFileSync(file, docs.map((d) => stringify(d)).join('---\n'));
  const ctx = new ValidationContext([file], './constructs/validation', '0.1.0', {}, true);
  ctx.logger.log = () => undefined;
  await new WeftManifestValidation().validate(ctx);
  return ctx.report.toJson();
}

test('kubernetes-models knows the native-sidecar field (Kubernetes >= 1.28 schema)', () => {
  const d = find(meshObjects(), 'Deployment', 'web-v1');
  expect(d.spec.template.spec.initContainers.map((c: any) => [c.name, c.restartPolicy])).toEqual([['weft-init', undefined], ['weft-proxy', 'Always']]);
  expect(objectProblems(d)).toEqual([]);
  // The schema types restartPolicy, so a wrong type is caught: proof the field is in the schema.
  const broken = JSON.parse(JSON.stringify(d));
  broken.spec.template.spec.initContainers[1].restartPolicy = 7;
  expect(objectProblems(broken).map((p) => [p.rule, p.message])).toEqual([
    ['kubernetes-schema', expect.stringContaining('/spec/template/spec/initContainers/1/restartPolicy must be string')],
    ['weft-native-sidecar', expect.stringContaining('restartPolicy 7')],
  ]);
});

test('a synthesized mesh has no problems; a broken object and a broken custom resource are reported', () => {
  const objs = meshObjects();
  expect(manifestProblems(objs)).toEqual([]);
  const bad = JSON.parse(JSON.stringify(objs));
  find(bad, 'Service', 'web').spec.ports[0].port = 'eighty';
  find(bad, 'MeshService', 'web').spec.interception = 'magic';
  const problems = manifestProblems(bad);
  expect(problems.map((p) => [p.rule, p.kind, p.location])).toEqual([
    ['kubernetes-schema', 'Service', '/spec/ports/0/port'],
    ['weft-crd-schema', 'MeshService', 'spec.interception'],
  ]);
});

test('mesh rules run over the custom resources of the manifests', () => {
  const objs = meshObjects();
  const route = { apiVersion: 'weft.dev/v1alpha1', kind: 'CanaryRoute', metadata: { name: 'r', namespace: 'shop' }, spec: { service: { name: 'web' }, routes: [{ backends: [{ version: 'v9', weight: 100 }] }] } };
  const problems = manifestProblems([...objs, route]);
  expect(problems).toEqual([expect.objectContaining({ rule: 'weft-mesh-rules', code: 'WEFT_ERR_UNKNOWN_VERSION', name: 'r', index: objs.length })]);
});

test('unknown kinds and a non-native proxy are flagged', () => {
  expect(modelFor('example.com/v1', 'Widget')).toBeUndefined();
  expect(objectProblems({ apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' } })[0].message).toContain('no Kubernetes schema');
  const d = find(meshObjects(), 'Deployment', 'web-v1');
  d.spec.template.spec.initContainers.find((c: any) => c.name === 'weft-proxy').restartPolicy = undefined;
  expect(nativeSidecarProblems(d)).toEqual([expect.stringContaining('restartPolicy')]);
});

test('the plugin passes a valid app and fails an invalid one, through cdk8s-cli\'s ValidationContext', async () => {
  const good = await runPlugin(meshObjects());
  expect(good.summary.status).toBe('success');
  expect(good.violations).toEqual([]);

  const objs = meshObjects();
  find(objs, 'Deployment', 'web-v1').spec.replicas = 'two';
  const bad = await runPlugin(objs);
  expect(bad.summary.status).toBe('failure');
  expect(bad.violations[0].ruleName).toBe('kubernetes-schema');
  expect(bad.violations[0].violatingConstructs[0]).toMatchObject({ resourceName: 'web-v1', locations: ['Deployment shop/web-v1 /spec/replicas'] });
});
