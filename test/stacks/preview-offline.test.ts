/**
 * `npm run preview:offline`: the program under mocks with the stack's config file and --config
 * overrides, printed as a plan. Runs the function the script runs (the script only adds argv/exit).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { previewOffline, readStackConfig } from '../../stacks/preview-offline';

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-preview-'));
  fs.copyFileSync(path.join(__dirname, '../../stacks/Pulumi.yaml'), path.join(dir, 'Pulumi.yaml'));
  fs.writeFileSync(path.join(dir, 'Pulumi.staging.yaml'), [
    'config:',
    '  weft:namespace: staging',
    '  weft:replicas:',
    '    reviews-v2: 2',
    '  weft:createNamespace: true',
    '',
  ].join('\n'));
  fs.writeFileSync(path.join(dir, 'Pulumi.locked.yaml'), 'config:\n  weft:trustDomain:\n    secure: AAABAKZ\n');
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

test('stack files become engine-style config: namespaced keys, structured values as JSON, overrides last', () => {
  expect(readStackConfig(dir, 'weft', 'staging', ['trustDomain=s.example', 'weft:namespace=override'])).toEqual({
    'weft:namespace': 'override', 'weft:replicas': '{"reviews-v2":2}', 'weft:createNamespace': 'true', 'weft:trustDomain': 's.example',
  });
  expect(readStackConfig(dir, 'weft', 'missing', [])).toEqual({});
  const codeOf = (fn: () => unknown) => { try { fn(); } catch (e) { return (e as { code?: string }).code; } return undefined; };
  expect(codeOf(() => readStackConfig(dir, 'weft', 'locked', []))).toBe('WEFT_ERR_STACK_INVALID_CONFIG');
  expect(codeOf(() => readStackConfig(dir, 'weft', 'staging', ['novalue']))).toBe('WEFT_ERR_STACK_INVALID_CONFIG');
});

test('prints type and name of every resource it would create, in waves, with the outputs and a count', async () => {
  // GIVEN the staging stack file, plus an override on the command line
  const preview = await previewOffline({ dir, stack: 'staging', config: ['imageTag=7.7.7'], program: path.join(__dirname, '../../stacks/index'), showDependencies: true });
  const lines = preview.text.split('\n');
  // THEN every registration has a line with its type and name
  const rows = lines.filter((l) => l.startsWith(' + '));
  expect(rows).toHaveLength(preview.registrations.length);
  for (const r of preview.registrations) expect(rows.some((l) => l.includes(`${r.type}  `) && l.includes(` ${r.name}  `))).toBe(true);
  expect(preview.text).toContain(`+ ${preview.registrations.length} to create`);
  expect(preview.text).toMatch(/^ \+ {3}weft:index:Mesh +bookinfo +0$/m);
  expect(preview.text).toMatch(/kubernetes:apps\/v1:Deployment +bookinfo-staging\/reviews-v2 +4 +5/);
  expect(preview.text).toContain('after kubernetes:apps/v1:Deployment bookinfo-weft-system/weft-control-plane');
  // AND the config was applied: namespace from the file, tag from --config, outputs printed
  expect(preview.outputs.meshedServices).toEqual({ value: ['staging/details', 'staging/productpage', 'staging/ratings', 'staging/reviews'], secret: false });
  expect(preview.text).toContain('controlPlaneAddress: "weft-control-plane.weft-system.svc:15010"');
  const cp = preview.registrations.find((r) => r.type === 'kubernetes:apps/v1:Deployment' && r.name === 'bookinfo-weft-system/weft-control-plane')!;
  expect(JSON.stringify(cp.inputs)).toContain(':7.7.7');
  // AND CRDs are in wave 0, before any custom resource
  const waveOf = (re: RegExp) => rows.filter((l) => re.test(l)).map((l) => Number(/ (\d+)(?: +\d+)?$/.exec(l)![1]));
  expect(Math.max(...waveOf(/CustomResourceDefinition/))).toBe(0);
  expect(Math.min(...waveOf(/weft\.dev\/v1alpha1:/))).toBeGreaterThan(0);
});
