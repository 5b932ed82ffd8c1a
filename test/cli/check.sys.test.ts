/**
 * `weft check` on real temp dirs: valid and broken manifests, each problem asserted by code, object,
 * field and line; the real `bin/weft.js` runs as a child process for the exit codes.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import { allCrds } from '../../api/crds';
import { checkDist } from '../../cli/check/run';
import { buildProgram } from '../../cli/main';
import { canaryRoute, deployment, meshConfig, meshService, service, validDist, validObjects, writeDist } from './check-fixtures';

const run = promisify(execFile);
const WEFT = path.resolve(__dirname, '../../bin/weft.js');
const dirs: string[] = [];
const track = (d: string) => (dirs.push(d), d);
afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

const codes = (dir: string) => checkDist(dir).problems.map((p) => `${p.code} ${p.object} ${p.field}`);
const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v));

test('a consistent dist has no problems and every object was validated', () => {
  const dir = track(validDist());
  // cdk8s writes this beside the manifests when validations are configured; it is not a manifest.
  fs.writeFileSync(path.join(dir, 'construct-metadata.json'), JSON.stringify({ version: '1.0.0', resources: {} }));
  const r = checkDist(dir);
  expect(r.problems).toEqual([]);
  expect(r.files).toEqual(['mesh.k8s.yaml', 'weft.crds.yaml']);
  expect(r.checked).toEqual({ kubernetes: 6, weft: 4 });
  expect(r.objects).toBe(10);
});

test('Kubernetes objects are validated against the Kubernetes schemas, with field and line', () => {
  const bad = clone(deployment) as { spec: { template: { spec: { containers: { ports: { containerPort: unknown }[] }[] } } } };
  bad.spec.template.spec.containers[0].ports[0].containerPort = 'http';
  const svc = clone(service) as { spec: { ports: Record<string, unknown>[]; type?: string } };
  svc.spec.type = 'Balanced';
  delete (svc.spec.ports[0] as { port?: number }).port;
  const dir = track(writeDist({ 'a.yaml': [bad, svc] }));
  const r = checkDist(dir);
  expect(r.problems.map((p) => [p.code, p.object, p.field, p.message])).toEqual([
    ['WEFT_ERR_CHECK_K8S_SCHEMA', 'Deployment/shop/reviews-v1', 'spec.template.spec.containers[0].ports[0].containerPort', 'must be integer (got "http")'],
    ['WEFT_ERR_CHECK_K8S_SCHEMA', 'Service/shop/reviews', 'spec.ports[0].port', 'is required'],
    ['WEFT_ERR_CHECK_K8S_SCHEMA', 'Service/shop/reviews', 'spec.type', expect.stringContaining('must be one of "ClusterIP"')],
  ]);
  const text = fs.readFileSync(path.join(dir, 'a.yaml'), 'utf8').split('\n');
  expect(text[r.problems[0].line! - 1]).toContain('containerPort: http');
});

test('misspelt Kubernetes fields are reported with the closest known name', () => {
  const d = clone(deployment) as Record<string, any>;
  d.metadata.lables = { app: 'reviews' };
  d.spec.replicaz = 2;
  d.spec.template.spec.containers[0].securityContext = { runAsNonRoot: true, readOnlyRootFileSystem: true };
  d.spec.template.spec.containers[0].env = [{ name: 'A', valeu: 'x' }];
  const r = checkDist(track(writeDist({ 'd.yaml': [d] })));
  expect(r.problems.map((p) => [p.code, p.field, p.message]).sort()).toEqual([
    ['WEFT_ERR_CHECK_UNKNOWN_FIELD', 'metadata.lables', 'unknown field "lables"; did you mean "labels"?'],
    ['WEFT_ERR_CHECK_UNKNOWN_FIELD', 'spec.replicaz', 'unknown field "replicaz"; did you mean "replicas"?'],
    ['WEFT_ERR_CHECK_UNKNOWN_FIELD', 'spec.template.spec.containers[0].env[0].valeu', 'unknown field "valeu"; did you mean "value"?'],
    ['WEFT_ERR_CHECK_UNKNOWN_FIELD', 'spec.template.spec.containers[0].securityContext.readOnlyRootFileSystem', 'unknown field "readOnlyRootFileSystem"; did you mean "readOnlyRootFilesystem"?'],
  ]);
});

test('the field table is what gen-k8s-fields.mjs generates from the installed client-node', async () => {
  const gen = path.resolve(__dirname, '../../cli/check/gen-k8s-fields.mjs');
  const result = await run(process.execPath, [gen, '--check'], { timeout: 120_000 }).then(() => 0, (e: { code: number }) => e.code);
  expect(result).toBe(0);
}, 150_000);

test('weft resources are validated against the CRD schemas, one problem per field', () => {
  const svc = meshService('reviews', ['v1']) as { spec: Record<string, unknown> & { ports: Record<string, unknown>[] } };
  svc.spec.ports[0].port = 0;
  svc.spec.interception = 'magic';
  expect(codes(track(writeDist({ 'm.yaml': [svc] })))).toEqual([
    'WEFT_ERR_INVALID_RESOURCE MeshService/shop/reviews spec.ports[0].port',
    'WEFT_ERR_INVALID_RESOURCE MeshService/shop/reviews spec.interception',
  ]);
});

test('the mesh rules run across files and are located in the file that holds the object', () => {
  const route = clone(canaryRoute) as { spec: { routes: { backends: { version: string; weight: number }[] }[] } };
  route.spec.routes[0].backends = [{ version: 'v1', weight: 50 }, { version: 'v3', weight: 40 }];
  const dir = track(writeDist({
    'services.yaml': [meshConfig, meshService('reviews', ['v1', 'v2'], ['nope']), meshService('ratings', ['v1'])],
    'routes/route.yaml': [route],
  }));
  const r = checkDist(dir);
  expect(r.problems.map((p) => [p.code, p.object, p.field, p.file])).toEqual(expect.arrayContaining([
    ['WEFT_ERR_UNKNOWN_SERVICE', 'MeshService/shop/reviews', 'spec.calls[0]', 'services.yaml'],
    ['WEFT_ERR_INVALID_WEIGHT', 'CanaryRoute/shop/reviews-canary', 'spec.routes[0].backends', 'routes/route.yaml'],
    ['WEFT_ERR_UNKNOWN_VERSION', 'CanaryRoute/shop/reviews-canary', 'spec.routes[0].backends[1].version', 'routes/route.yaml'],
  ]));
  expect(r.problems.every((p) => p.line !== undefined)).toBe(true);
});

test('duplicates, bad names and unknown kinds are problems; kinds defined by a CRD in the dist are not', () => {
  const widgetCrd = {
    apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name: 'widgets.example.com' },
    spec: { group: 'example.com', scope: 'Namespaced', names: { kind: 'Widget', plural: 'widgets' }, versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object' } } }] },
  };
  const dir = track(writeDist({
    'a.yaml': [service, service, meshService('reviews', ['v1']), meshService('reviews', ['v1'])],
    'b.yaml': [
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'Not_Valid' } },
      { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w', namespace: 'shop' } },
      { apiVersion: 'example.com/v1', kind: 'Gadget', metadata: { name: 'g' } },
      widgetCrd,
    ],
  }));
  const r = checkDist(dir);
  expect(r.problems.map((p) => `${p.code} ${p.object} ${p.field}`)).toEqual([
    'WEFT_ERR_DUPLICATE_NAME Service/shop/reviews metadata.name',
    'WEFT_ERR_DUPLICATE_NAME MeshService/shop/reviews metadata.name',
    'WEFT_ERR_CHECK_NAME ConfigMap/Not_Valid metadata.name',
    'WEFT_ERR_CHECK_UNKNOWN_KIND Gadget/g kind',
  ]);
  expect(r.unchecked).toEqual(['Widget/shop/w']);
});

test('a weft CRD that differs from what this weft generates is reported stale', () => {
  const crds = allCrds();
  const stale = clone(crds[1]) as { spec: { versions: { name: string }[] } };
  stale.spec.versions[0].name = 'v1alpha0';
  expect(codes(track(writeDist({ 'crds.yaml': [crds[0], stale, ...crds.slice(2)] })))).toEqual([`WEFT_ERR_CHECK_STALE_CRD CustomResourceDefinition/${(crds[1].metadata as { name: string }).name} spec`]);
});

test('YAML errors, non-objects and List items are handled per document, other documents still checked', () => {
  const list = { apiVersion: 'v1', kind: 'List', items: [clone(service), { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'reviews', namespace: 'shop' }, automountServiceAccountToken: 'no' }] };
  const dir = track(writeDist({ 'bad.yaml': 'a: [\n', 'list.json': JSON.stringify(list), 'mixed.yaml': `- 1\n---\n${stringify(service)}` }));
  const r = checkDist(dir);
  expect(r.problems.map((p) => `${p.code} ${p.object} ${p.field} ${p.file}:${p.line}`)).toEqual([
    'WEFT_ERR_CHECK_YAML bad.yaml#0  bad.yaml:2',
    'WEFT_ERR_CHECK_K8S_SCHEMA ServiceAccount/shop/reviews automountServiceAccountToken list.json:1',
    'WEFT_ERR_CHECK_NOT_A_RESOURCE mixed.yaml#0  mixed.yaml:1',
    'WEFT_ERR_DUPLICATE_NAME Service/shop/reviews metadata.name mixed.yaml:6',
  ]);
});

test('a sidecar bootstrap ConfigMap is checked with the proxy bootstrap schema', () => {
  const bootstrap = {
    node: { id: 'reviews-v1', service: 'Reviews', namespace: 'shop', version: 'v1', serviceAccount: 'reviews' },
    ports: { inbound: 15006, outbound: 15001, admin: 15020, app: { http: 9080 } },
    interception: 'explicit',
    identity: { trustDomain: 'shop.local' },
  };
  const cm = (name: string, json: string) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'shop' }, data: { 'bootstrap.json': json } });
  const dir = track(writeDist({ 'cm.yaml': [cm('a-weft', JSON.stringify(bootstrap)), cm('b-weft', '{"node": '), cm('c-weft', JSON.stringify({ ...bootstrap, node: { ...bootstrap.node, service: 'reviews' }, identity: { trustDomain: 'shop.local', required: true } }))] }));
  const r = checkDist(dir);
  expect(r.problems.map((p) => [p.object, p.field, p.code, p.message.split(':')[0]])).toEqual([
    ['ConfigMap/shop/a-weft', 'data["bootstrap.json"]', 'WEFT_ERR_CHECK_BOOTSTRAP', 'node.service'],
    ['ConfigMap/shop/a-weft', 'data["bootstrap.json"]', 'WEFT_ERR_CHECK_BOOTSTRAP', 'identity.required'],
    ['ConfigMap/shop/b-weft', 'data["bootstrap.json"]', 'WEFT_ERR_CHECK_BOOTSTRAP', 'is not JSON'],
  ]);
  const lines = fs.readFileSync(path.join(dir, 'cm.yaml'), 'utf8').split('\n');
  expect(lines[r.problems[0].line! - 1]).toContain('bootstrap.json:');
});

test('an alias bomb and duplicate keys are YAML problems of their document, not a crash', () => {
  const bomb = ['a: &a [x, x, x, x, x, x, x, x, x]'];
  for (let i = 1; i < 12; i++) bomb.push(`k${i}: &${i === 1 ? 'b1' : `b${i}`} [${Array(9).fill(`*${i === 1 ? 'a' : `b${i - 1}`}`).join(', ')}]`);
  const dir = track(writeDist({
    'bomb.yaml': `${bomb.join('\n')}\n`,
    'dup.yaml': 'apiVersion: v1\nkind: ConfigMap\nkind: Secret\nmetadata: {name: a}\n',
    'ok.yaml': [service],
  }));
  const r = checkDist(dir);
  expect(r.problems.map((p) => `${p.code} ${p.file}`)).toEqual(['WEFT_ERR_CHECK_YAML bomb.yaml', 'WEFT_ERR_CHECK_YAML dup.yaml']);
  expect(r.objects).toBe(1);
});

test('malformed weft objects are reported, never crash the checker', () => {
  const dir = track(writeDist({
    'a.yaml': 'apiVersion: weft.dev/v1alpha1\nkind: MeshService\nspec: {}\n---\napiVersion: weft.dev/v1alpha1\nkind: MeshService\nmetadata: 5\nspec: []\n---\napiVersion: weft.dev/v1alpha1\nkind: Bogus\nmetadata: {name: x}\n',
  }));
  const r = checkDist(dir);
  expect(r.problems.map((p) => p.code)).not.toContain('WEFT_ERR_CHECK_INTERNAL');
  expect(r.problems.map((p) => `${p.code} ${p.field}`)).toEqual(expect.arrayContaining([
    'WEFT_ERR_CHECK_NAME metadata.name',
    'WEFT_ERR_INVALID_RESOURCE spec.serviceAccount',
    'WEFT_ERR_INVALID_RESOURCE spec',
    'WEFT_ERR_INVALID_RESOURCE kind',
  ]));
});

test('a missing or empty dist is a usage error with exit code 2', () => {
  const empty = track(writeDist({ 'README.md': 'not a manifest' }));
  expect(() => checkDist(path.join(empty, 'nope'))).toThrow(expect.objectContaining({ code: 'WEFT_ERR_CHECK_NO_DIST', exitCode: 2 }));
  expect(() => checkDist(empty)).toThrow(expect.objectContaining({ code: 'WEFT_ERR_CHECK_EMPTY', exitCode: 2 }));
});

describe('bin/weft.js check (child process)', () => {
  const weft = (...args: string[]) =>
    run(process.execPath, [WEFT, 'check', ...args], { timeout: 150_000 }).then(
      ({ stdout, stderr }) => ({ code: 0 as number | null, stdout, stderr }),
      (e: { code: number | null; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
    );

  test('exit 0 on a clean dist, 1 with --json problems', async () => {
    const good = track(validDist());
    const bad = track(writeDist({ 'm.yaml': [...validObjects(), service] }));
    // One at a time: each process transpiles the whole CLI with ts-node, and the machine is shared.
    const clean = await weft(good);
    expect(clean.code).toBe(0);
    expect(clean.stdout).toMatch(/10 object\(s\) in 2 file\(s\), no problems/);

    const broken = await weft(bad, '--json');
    expect(broken.code).toBe(1);
    const doc = JSON.parse(broken.stdout);
    expect(doc.ok).toBe(false);
    expect(doc.problems.map((p: { code: string; object: string }) => `${p.code} ${p.object}`)).toEqual(['WEFT_ERR_DUPLICATE_NAME Service/shop/reviews']);
  }, 320_000);
});

describe('weft check usage errors (the program bin/weft.js runs, in-process)', () => {
  // bin/weft.js exits with the rejected error's exitCode and prints its code; assert both here.
  const parse = (...args: string[]) => {
    const program = buildProgram();
    program.commands.forEach((c) => c.configureOutput({ writeErr: () => undefined, writeOut: () => undefined }));
    return program.parseAsync(['node', 'weft', 'check', ...args]);
  };

  test('a missing dist and an unknown flag reject with exit code 2 and their codes', async () => {
    const good = track(validDist());
    await expect(parse(path.join(good, 'missing'))).rejects.toMatchObject({ code: 'WEFT_ERR_CHECK_NO_DIST', exitCode: 2 });
    await expect(parse(good, '--no-such-flag')).rejects.toMatchObject({ code: 'WEFT_ERR_USAGE', exitCode: 2 });
    await expect(parse(good, 'extra-arg')).rejects.toMatchObject({ code: 'WEFT_ERR_USAGE', exitCode: 2 });
  });
});
