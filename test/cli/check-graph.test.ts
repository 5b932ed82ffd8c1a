/**
 * `weft check` runs the call-graph analysis on a synthesized dist: warnings are listed but do not
 * fail; a hand-edit that multiplies retries along a path fails with the path named.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { App, Chart } from 'cdk8s';
import { Mesh, MeshService, Protocol } from '../../constructs';
import { checkDist } from '../../cli/check/run';
import { checkText } from '../../cli/commands/check';

let dir: string;
let file: string;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-check-graph-'));
  const app = new App({ outdir: dir });
  const chart = new Chart(app, 'shop', { namespace: 'shop' });
  const mesh = new Mesh(chart, 'mesh', { trustDomain: 'shop.local' });
  const common = { mesh, port: 9080, protocol: Protocol.HTTP, image: 'registry.example/app:1', retries: { attempts: 1, on: ['connect-failure' as const] } };
  const c = new MeshService(chart, 'c', common);
  const b = new MeshService(chart, 'b', common).calls(c);
  new MeshService(chart, 'a', { ...common, ingress: true }).calls(b);
  new MeshService(chart, 'orphan', common);
  app.synth();
  file = fs.readdirSync(dir).find((f) => f.endsWith('.yaml'))!;
});

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

test('a clean dist has no problems; the unreachable service is a warning in the result and the text', () => {
  const r = checkDist(dir);
  expect(r.problems).toEqual([]);
  expect(r.warnings.map((w) => `${w.code} ${w.object}`)).toEqual(['WEFT_WARN_UNREACHABLE MeshService/shop/orphan']);
  expect(r.warnings[0].file).toBe(file);
  const text = checkText(r);
  expect(text).toContain('warning: WEFT_WARN_UNREACHABLE MeshService/shop/orphan');
  expect(text).toMatch(/no problems.*1 warning\(s\)/);
});

test('a hand-edit raising retries to 4 attempts on every hop fails with WEFT_ERR_RETRY_AMPLIFICATION and the path', () => {
  const text = fs.readFileSync(path.join(dir, file), 'utf8');
  const edited = text.replace(/attempts: 1/g, 'attempts: 4');
  expect(edited).not.toBe(text);
  fs.writeFileSync(path.join(dir, file), edited);
  const r = checkDist(dir);
  expect(r.problems.map((p) => `${p.code} ${p.object}`)).toEqual(['WEFT_ERR_RETRY_AMPLIFICATION MeshService/shop/c']);
  expect(r.problems[0].message).toContain('graph path: shop/a → shop/b → shop/c');
  expect(r.problems[0].fix).toContain('maxRetryAmplification');
});
