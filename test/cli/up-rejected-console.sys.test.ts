/**
 * A rejected live edit under `weft up`, seen where a user looks: the real bin/weft.js process prints
 * a REJECTED line on its console, `weft stat` lists it under the table and `weft proxy-status` flags
 * it (exit code 1); the fix prints a line too. Ctrl-C still stops everything with exit code 0.
 */
import { ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseAllDocuments, stringify } from 'yaml';
import { writeAtomic } from '../../cli/up/synth';

jest.setTimeout(240_000);
const ROOT = join(__dirname, '..', '..');
const BIN = join(ROOT, 'bin', 'weft.js');
const APP = join(ROOT, 'test', 'e2e', 'fixtures', 'last-good-e2e.ts#lastGoodE2e');

function weft(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { cwd: ROOT, timeout: 120_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

/** Sets the catch-all split of reviews-canary in dist/ to `weights` (no sum check: that is the point). */
async function setSplit(dist: string, weights: [number, number]): Promise<void> {
  for (const f of readdirSync(dist).filter((x) => /\.ya?ml$/.test(x) && !x.startsWith('.'))) {
    const docs = parseAllDocuments(readFileSync(join(dist, f), 'utf8')).map((d) => d.toJS() as Record<string, any> | null).filter((d) => d !== null);
    const hit = docs.find((d) => d!.kind === 'CanaryRoute');
    if (!hit) continue;
    hit.spec.routes.find((r: { name?: string }) => r.name === 'split').backends = [{ version: 'v1', weight: weights[0] }, { version: 'v2', weight: weights[1] }];
    await writeAtomic(join(dist, f), docs.map((d) => stringify(d)).join('---\n'));
    return;
  }
  throw new Error('no CanaryRoute in dist');
}

let dir: string;
let up: ChildProcess | undefined;
afterAll(() => {
  if (up && up.exitCode === null) up.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

test('weft up prints the rejection; weft stat and weft proxy-status flag it', async () => {
  dir = mkdtempSync(join(tmpdir(), 'weft-up-rejected-'));
  const state = join(dir, '.weft');
  up = spawn(process.execPath, [BIN, 'up', APP, '--expose', 'reviews=0', '--no-stat', '--state-dir', state, '--ready-timeout', '120000'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  const waiters: { re: RegExp; resolve: () => void }[] = [];
  up.stderr!.on('data', (c: Buffer) => {
    stderr += c.toString();
    for (const w of waiters.filter((x) => x.re.test(stderr))) { waiters.splice(waiters.indexOf(w), 1); w.resolve(); }
  });
  const printed = (re: RegExp) => new Promise<void>((resolve) => (re.test(stderr) ? resolve() : waiters.push({ re, resolve })));
  const statusUrl = await new Promise<string>((resolve, reject) => {
    createInterface({ input: up!.stdout! }).on('line', (line) => {
      const m = /control plane status: (http:\/\/127\.0\.0\.1:\d+)\/status/.exec(line);
      if (m) resolve(m[1]);
    });
    up!.once('exit', (code) => reject(new Error(`weft up exited ${code}: ${stderr}`)));
  });
  expect((await weft(['proxy-status', '--url', statusUrl])).code).toBe(0);

  await setSplit(join(state, 'dist'), [60, 50]);
  await printed(/weft up: REJECTED CanaryRoute shop\/reviews-canary: WEFT_ERR_MODEL_INVALID_WEIGHTS: .*stays in force\n/);

  const stat = await weft(['stat', '--state-dir', state, '--window', '200']);
  expect(stat.code).toBe(0);
  expect(stat.stdout).toMatch(/\nREJECTED \(1\): .*\n {2}WEFT_ERR_MODEL_INVALID_WEIGHTS: CanaryRoute shop\/reviews-canary rejected \(InvalidWeights\)/);
  const ps = await weft(['proxy-status', '--url', statusUrl]);
  expect(ps.code).toBe(1);
  expect(ps.stdout).toMatch(/REJECTED resources[^\n]*\n\s+RESOURCE\s+CODE\s+IN FORCE\n\s+CanaryRoute shop\/reviews-canary\s+WEFT_ERR_MODEL_INVALID_WEIGHTS\s+last accepted version/);

  await setSplit(join(state, 'dist'), [50, 50]);
  await printed(/weft up: CanaryRoute shop\/reviews-canary is no longer rejected\n/);
  expect(stderr.match(/REJECTED CanaryRoute/g)).toHaveLength(1); // once, not once per poll

  const exited = new Promise<number | null>((r) => up!.once('exit', (code) => r(code)));
  up.kill('SIGINT');
  expect(await exited).toBe(0);
});
