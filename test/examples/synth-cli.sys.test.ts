/** `npm run synth` end to end: cdk8s-cli runs the bookinfo app from cdk8s.yaml, then weft's validation plugin. */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { parseAllDocuments } from 'yaml';

const root = path.resolve(__dirname, '../..');
let out: string;
beforeAll(() => { out = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-synth-')); });
afterAll(() => fs.rmSync(out, { recursive: true, force: true }));

test('synthesizes into the output dir, runs the validation plugin and says where the manifests went', () => {
  const r = spawnSync(process.execPath, [path.join(root, 'constructs/synth-cli.js'), '-o', out], { cwd: root, encoding: 'utf8', timeout: 110_000 });
  expect(r.status).toBe(0);
  expect(r.stdout).toContain('Performing validations');
  expect(r.stdout).toMatch(/weft: validated \d+ objects in 1 manifest\(s\): 0 problem\(s\)/);
  expect(r.stdout).toContain('Validations ended succesfully');
  expect(r.stdout).toContain(`manifests written to`);
  expect(r.stdout).toContain(out);
  const docs = parseAllDocuments(fs.readFileSync(path.join(out, 'bookinfo.k8s.yaml'), 'utf8')).map((d) => d.toJS());
  const kinds = new Set(docs.map((d) => d.kind));
  for (const k of ['CustomResourceDefinition', 'MeshConfig', 'Deployment', 'MeshService', 'CanaryRoute', 'MtlsPolicy']) expect(kinds.has(k)).toBe(true);
  const reviews = docs.find((d) => d.kind === 'Deployment' && d.metadata.name === 'reviews-v2');
  expect(reviews.spec.template.spec.initContainers.find((c: any) => c.name === 'weft-proxy').restartPolicy).toBe('Always');
}, 120_000);
