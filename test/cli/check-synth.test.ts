/**
 * `weft check` on what the real constructs synthesize: a clean cdk8s dist passes, and a hand-edit
 * that breaks a mesh rule (the canary split no longer sums to 100) is caught with its code and line.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { App, Chart } from 'cdk8s';
import { CanaryRoute, Mesh, MeshService, MtlsMode, MtlsPolicy, Protocol } from '../../constructs';
import { checkDist } from '../../cli/check/run';

let dir: string;
let file: string;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-check-synth-'));
  const app = new App({ outdir: dir });
  const chart = new Chart(app, 'shop', { namespace: 'shop' });
  const mesh = new Mesh(chart, 'mesh', { trustDomain: 'shop.local' });
  const common = { mesh, port: 9080, protocol: Protocol.HTTP };
  const ratings = new MeshService(chart, 'ratings', { ...common, image: 'registry.example/ratings:1' });
  const reviews = new MeshService(chart, 'reviews', {
    ...common,
    versions: { v1: { image: 'registry.example/reviews:1' }, v2: { image: 'registry.example/reviews:2' } },
  });
  reviews.calls(ratings);
  new CanaryRoute(chart, 'reviews-canary', { service: reviews, split: { v1: 90, v2: 10 } });
  new MtlsPolicy(chart, 'strict', { mesh, mode: MtlsMode.STRICT });
  app.synth();
  file = fs.readdirSync(dir).find((f) => f.endsWith('.yaml'))!;
});

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

test('a synthesized dist passes, every object validated by the Kubernetes or weft schemas', () => {
  const r = checkDist(dir);
  expect(r.problems).toEqual([]);
  expect(r.unchecked).toEqual([]);
  expect(r.checked.weft).toBeGreaterThanOrEqual(5); // MeshConfig, 2 MeshServices, CanaryRoute, MtlsPolicy
  expect(r.checked.kubernetes + r.checked.weft).toBe(r.objects);
});

test('a hand-edited split that no longer sums to 100 fails with WEFT_ERR_INVALID_WEIGHT on its line', () => {
  const text = fs.readFileSync(path.join(dir, file), 'utf8');
  const edited = text.replace(/(version: v1\n\s+weight: )90/, '$180');
  expect(edited).not.toBe(text);
  fs.writeFileSync(path.join(dir, file), edited);
  const r = checkDist(dir);
  expect(r.problems.map((p) => `${p.code} ${p.object}`)).toEqual(['WEFT_ERR_INVALID_WEIGHT CanaryRoute/shop/reviews-canary']);
  expect(edited.split('\n')[r.problems[0].line! - 1]).toMatch(/backends:/);
});
