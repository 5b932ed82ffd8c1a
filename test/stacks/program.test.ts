/**
 * The Pulumi program (stacks/index.ts) under Pulumi's mocks deploys exactly what `cdk8s synth`
 * writes for examples/bookinfo (same objects, names, namespaces and bodies), in dependency order,
 * with only public values in its outputs and no key material anywhere in what it registers.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as pulumi from '@pulumi/pulumi';
import { parseAllDocuments } from 'yaml';
import { App, Chart } from 'cdk8s';
import { installMocks, MockRecorder, Registration } from '../../stacks/mocks';
import { typeTokenOf } from '../../stacks/kinds';
import { bookinfo } from '../../examples/bookinfo/mesh';

type Obj = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string } };
const identity = (o: Obj) => `${o.apiVersion} ${o.kind} ${o.metadata.namespace ?? '-'} ${o.metadata.name}`;
const outputOf = <T>(o: pulumi.Output<T>) => new Promise<T>((resolve) => o.apply(resolve));

let mocks: MockRecorder;
let program: { controlPlaneAddress: pulumi.Output<string | undefined>; meshedServices: pulumi.Output<string[]> };
let children: Registration[];
let component: Registration;
let outdir: string;

beforeAll(async () => {
  mocks = await installMocks({ project: 'weft', stack: 'dev' });
  // The program is imported only after the mocks are set, as Pulumi's testing guide requires.
  program = await import('../../stacks/index');
  await outputOf(pulumi.all([program.controlPlaneAddress, program.meshedServices]));
  await mocks.settle();
  component = mocks.registrations.find((r) => r.type === 'weft:index:Mesh')!;
  children = mocks.registrations.filter((r) => r !== component);
  outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-stacks-synth-'));
});

afterAll(() => fs.rmSync(outdir, { recursive: true, force: true }));

/** What examples/bookinfo/main.ts (the app `cdk8s synth` runs, per cdk8s.yaml) writes, read back from its YAML. */
function synthMainTs(): Obj[] {
  const before = process.env.CDK8S_OUTDIR;
  process.env.CDK8S_OUTDIR = outdir;
  try {
    jest.isolateModules(() => { require('../../examples/bookinfo/main'); });
  } finally {
    if (before === undefined) delete process.env.CDK8S_OUTDIR; else process.env.CDK8S_OUTDIR = before;
  }
  return fs.readdirSync(outdir).filter((f) => f.endsWith('.yaml')).sort()
    .flatMap((f) => parseAllDocuments(fs.readFileSync(path.join(outdir, f), 'utf8')).map((d) => d.toJS() as Obj))
    .filter(Boolean);
}

test('registers the component and, under it, one resource per object cdk8s synth writes: same names, namespaces and bodies', () => {
  // GIVEN the YAML examples/bookinfo/main.ts writes (the cdk8s synth app)
  const synthesized = synthMainTs();
  expect(synthesized.length).toBeGreaterThan(30);
  // THEN every child is parented to the component and the identities match one to one
  for (const c of children) expect(c.parent).toBe(component.urn);
  const registered = children.map((c) => c.inputs as unknown as Obj);
  expect(registered.map(identity).sort()).toEqual(synthesized.map(identity).sort());
  // AND each resource registers under its kind's type token, with the synthesized body unchanged
  const byIdentity = new Map(children.map((c) => [identity(c.inputs as unknown as Obj), c]));
  for (const o of synthesized) {
    const reg = byIdentity.get(identity(o))!;
    expect(reg.type).toBe(typeTokenOf(o));
    expect(reg.inputs).toEqual(o);
  }
});

test('the same holds against an in-process App/Chart synthYaml of the example', () => {
  const app = new App({ outdir });
  bookinfo(new Chart(app, 'bookinfo', { namespace: 'bookinfo' }));
  const docs = parseAllDocuments(app.synthYaml()).map((d) => d.toJS() as Obj);
  expect(children.map((c) => c.inputs)).toEqual(expect.arrayContaining(docs));
  expect(children).toHaveLength(docs.length);
});

describe('creation order (dependsOn as the engine received it)', () => {
  const byUrn = () => new Map(mocks.registrations.map((r) => [r.urn, r]));
  const depsOf = (r: Registration) => r.dependencies.map((u) => byUrn().get(u)!.inputs as unknown as Obj & { spec?: { group?: string; names?: { kind?: string } } });
  const kindOf = (r: Registration) => (r.inputs as unknown as Obj).kind;
  const nsOf = (r: Registration) => (r.inputs as unknown as Obj).metadata.namespace;

  test('every custom resource waits for the CRD of its kind', () => {
    const crs = children.filter((c) => (c.inputs as unknown as Obj).apiVersion === 'weft.dev/v1alpha1');
    expect(crs.length).toBeGreaterThanOrEqual(9);
    for (const cr of crs) {
      expect(depsOf(cr).some((d) => d.kind === 'CustomResourceDefinition' && d.spec?.names?.kind === kindOf(cr))).toBe(true);
    }
  });

  test('every object in a namespace the stack creates waits for that Namespace', () => {
    const namespaces = new Set(children.filter((c) => kindOf(c) === 'Namespace').map((c) => (c.inputs as unknown as Obj).metadata.name));
    expect([...namespaces].sort()).toEqual(['bookinfo', 'weft-system']);
    for (const c of children) {
      const ns = nsOf(c);
      if (kindOf(c) === 'Namespace' || !ns || !namespaces.has(ns) || c.type.includes('CustomResourceDefinition') || c.type.startsWith('kubernetes:rbac.authorization.k8s.io/v1:Cluster')) continue;
      expect(depsOf(c).some((d) => d.kind === 'Namespace' && d.metadata.name === ns)).toBe(true);
    }
  });

  test('the control plane Deployment and Service come before every app workload', () => {
    const apps = children.filter((c) => kindOf(c) === 'Deployment' && nsOf(c) === 'bookinfo');
    expect(apps.map((a) => (a.inputs as unknown as Obj).metadata.name).sort()).toEqual(['details-v1', 'productpage-v1', 'ratings-v1', 'reviews-v1', 'reviews-v2']);
    for (const a of apps) {
      const deps = depsOf(a).map(identity);
      expect(deps).toContain('apps/v1 Deployment weft-system weft-control-plane');
      expect(deps).toContain('v1 Service weft-system weft-control-plane');
    }
  });

  test('the engine saw every dependency registered before its dependent', () => {
    const index = new Map(mocks.registrations.map((r, i) => [r.urn, i]));
    for (const r of mocks.registrations) for (const d of r.dependencies) expect(index.get(d)!).toBeLessThan(index.get(r.urn)!);
  });
});

test('outputs: the control plane address and the meshed services, in plain (non-secret) public values', async () => {
  expect(await outputOf(program.controlPlaneAddress)).toBe('weft-control-plane.weft-system.svc:15010');
  expect(await outputOf(program.meshedServices)).toEqual(['bookinfo/details', 'bookinfo/productpage', 'bookinfo/ratings', 'bookinfo/reviews']);
  expect(await (program.controlPlaneAddress as unknown as { isSecret: Promise<boolean> }).isSecret).toBe(false);
});

test('nothing private is registered: no Secret, no PEM private key, no key-like data anywhere in state', () => {
  const state = JSON.stringify(mocks.registrations.map((r) => r.inputs));
  expect(children.filter((c) => kindOf(c) === 'Secret')).toEqual([]);
  expect(state).not.toMatch(/PRIVATE KEY/);
  expect(state).not.toMatch(/"(tls|ca)\.key"/);
  function kindOf(r: Registration) { return (r.inputs as unknown as Obj).kind; }
});
