/**
 * `weft export` through the real `bin/weft.js`: a synthesized bookinfo dist in a temp dir, YAML on
 * stdout equal to exportMesh() of the same chart, coded warnings on stderr, and the exit codes.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { Chart, Testing } from 'cdk8s';
import { parseAllDocuments, stringify } from 'yaml';
import { exportMesh } from '../../constructs';
import { bookinfo } from '../../examples/bookinfo/mesh';

const run = promisify(execFile);
const WEFT = path.resolve(__dirname, '../../bin/weft.js');
const chart = new Chart(Testing.app(), 'bookinfo', { namespace: 'bookinfo' });
bookinfo(chart);
const dist = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-export-'));
fs.writeFileSync(path.join(dist, 'bookinfo.k8s.yaml'), chart.toJson().map((o) => stringify(o)).join('---\n'));
afterAll(() => fs.rmSync(dist, { recursive: true, force: true }));

async function weft(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [WEFT, ...args], { maxBuffer: 16 << 20 });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

test.each(['istio', 'gateway-api'] as const)('GIVEN a bookinfo dist WHEN `weft export --to %s` THEN stdout is the exported YAML and stderr lists each warning with its code', async (target) => {
  const r = await weft('export', '--to', target, dist);
  expect(r.code).toBe(0);
  const docs = parseAllDocuments(r.stdout).map((d) => d.toJS());
  const expected = exportMesh(chart, target);
  expect(docs).toEqual(JSON.parse(JSON.stringify(expected.objects)));
  const warnings = r.stderr.split('\n').filter((l) => l.startsWith('warning '));
  expect(warnings).toHaveLength(expected.warnings.length);
  expect(warnings.every((l) => l.startsWith('warning WEFT_ERR_EXPORT_UNSUPPORTED '))).toBe(true);
}, 120_000);

test('GIVEN --strict and a mesh with warnings THEN exit 1; an unknown target exits 2 with WEFT_ERR_EXPORT_TARGET; a missing dir exits 2', async () => {
  const strict = await weft('export', '--to', 'istio', '--strict', dist);
  expect(strict.code).toBe(1);
  const bad = await weft('export', '--to', 'linkerd', dist);
  expect(bad.code).toBe(2);
  expect(bad.stderr).toContain('WEFT_ERR_EXPORT_TARGET');
  expect(bad.stdout).toBe('');
  const missing = await weft('export', '--to', 'istio', path.join(dist, 'nope'));
  expect(missing.code).toBe(2);
  expect(missing.stderr).toContain('WEFT_ERR_CHECK_NO_DIST');
}, 120_000);
