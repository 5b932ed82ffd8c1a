/**
 * How `weft up` finds and loads the user's cdk8s app: the entry file of cdk8s.yaml's `app`, a
 * plain main.ts run in-process (no special export), and local commands relative to the mesh file.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { appBaseDir, defaultApp, DEFAULT_APP, synthesize } from '../../cli/up/synth';

const ROOT = resolve(__dirname, '..', '..');
const USER_APP = join(__dirname, 'fixtures', 'user-app');
let dir: string;
beforeAll(() => { dir = mkdtempSync(join(tmpdir(), 'weft-up-app-')); });
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('defaultApp', () => {
  test('is the entry file of the cdk8s.yaml app command', () => {
    expect(defaultApp(USER_APP, ROOT)).toBe(join(USER_APP, 'main.ts'));
  });

  test('inside the weft repository it stays the bundled example', () => {
    expect(defaultApp(ROOT, ROOT)).toBe(join(ROOT, DEFAULT_APP));
  });

  test('no cdk8s.yaml, or one whose app names no file, is WEFT_ERR_UP_APP', () => {
    expect(() => defaultApp(dir, ROOT)).toThrow(expect.objectContaining({ code: 'WEFT_ERR_UP_APP' }));
    const odd = mkdtempSync(join(dir, 'odd-'));
    writeFileSync(join(odd, 'cdk8s.yaml'), 'app: python3 main.py\n');
    expect(() => defaultApp(odd, ROOT)).toThrow(expect.objectContaining({ code: 'WEFT_ERR_UP_APP' }));
  });
});

test('a plain cdk8s main.ts (no export) is run in-process and its App synthesizes into the outdir', async () => {
  const out = await synthesize({ app: defaultApp(USER_APP, ROOT), outdir: join(dir, 'dist') });
  expect(readdirSync(out)).toContain('shop.k8s.yaml');
  expect(readFileSync(join(out, 'shop.k8s.yaml'), 'utf8')).toMatch(/kind: MeshService[\s\S]*name: api/);
});

test('local commands start at the mesh file\'s folder, not the working directory', () => {
  expect(appBaseDir(join(USER_APP, 'main.ts'), '/somewhere/else')).toBe(USER_APP);
  expect(appBaseDir('examples/bookinfo/mesh.ts#bookinfo', ROOT)).toBe(join(ROOT, 'examples', 'bookinfo'));
  // a directory of manifests has no mesh file: commands start where weft up was started
  expect(appBaseDir('examples', ROOT)).toBe(ROOT);
});

test('a module that neither synthesizes nor exports one mesh function is WEFT_ERR_UP_APP', async () => {
  const file = join(__dirname, 'fixtures', 'user-app-not-an-app.ts');
  await expect(synthesize({ app: file, outdir: join(dir, 'x') })).rejects.toMatchObject({ code: 'WEFT_ERR_UP_APP', message: expect.stringMatching(/neither called app\.synth\(\)/) });
});
