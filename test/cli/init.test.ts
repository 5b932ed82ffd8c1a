/** `weft init`: the files it writes, refusals with codes, and dependency ranges weft's own pins satisfy. */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initProject } from '../../cli/commands/init';
import { INIT_DEPENDENCIES } from '../../cli/init/templates';

// semver ships with npm's toolchain in node_modules (a dependency of ts-jest/jest).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const semver = require('semver') as { satisfies(v: string, r: string): boolean };

let dir: string;
beforeAll(() => { dir = mkdtempSync(join(tmpdir(), 'weft-init-')); });
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test('writes a cdk8s typescript-app project with a mesh, its tests and a Pulumi program', () => {
  const files = initProject({ dir: join(dir, 'shop'), version: '1.2.3' });
  expect(files).toEqual(expect.arrayContaining(['package.json', 'tsconfig.json', 'jest.config.js', 'cdk8s.yaml', 'main.ts', 'mesh.ts', 'mesh.test.ts', 'Pulumi.yaml', 'pulumi/index.ts', 'pulumi.test.ts', 'apps/api.js', 'apps/web.js']));
  const pkg = JSON.parse(readFileSync(join(dir, 'shop', 'package.json'), 'utf8')) as { name: string; dependencies: Record<string, string>; devDependencies: Record<string, string> };
  expect(pkg.name).toBe('shop');
  expect(pkg.dependencies['weft-mesh']).toBe('^1.2.3');
  expect(pkg.devDependencies['weft-mesh-runtime']).toBe('^1.2.3');
  expect(readFileSync(join(dir, 'shop', 'cdk8s.yaml'), 'utf8')).toMatch(/^app: npx ts-node main\.ts$/m);
  expect(readFileSync(join(dir, 'shop', 'mesh.test.ts'), 'utf8')).toMatch(/from 'weft-mesh\/testing'/);
  expect(readFileSync(join(dir, 'shop', 'pulumi', 'index.ts'), 'utf8')).toMatch(/from 'weft-mesh\/pulumi'/);
});

test('the tsconfig.json and jest.config.js are the cdk8s template\'s own', () => {
  const template = join(__dirname, '..', '..', 'node_modules', 'cdk8s-cli', 'templates', 'typescript-app');
  initProject({ dir: join(dir, 'same'), version: '1.2.3' });
  for (const f of ['tsconfig.json', 'jest.config.js']) expect(readFileSync(join(dir, 'same', f), 'utf8')).toBe(readFileSync(join(template, f), 'utf8'));
});

test('--from depends on the tarballs by file: spec; a missing tarball is WEFT_ERR_INIT_NO_TARBALL', () => {
  const tarballs = join(dir, 'tarballs');
  mkdirSync(tarballs);
  expect(() => initProject({ dir: join(dir, 'a'), version: '1.2.3', from: tarballs })).toThrow(expect.objectContaining({ code: 'WEFT_ERR_INIT_NO_TARBALL' }));
  for (const n of ['weft-mesh', 'weft-mesh-runtime']) writeFileSync(join(tarballs, `${n}-1.2.3.tgz`), '');
  initProject({ dir: join(dir, 'b'), version: '1.2.3', from: tarballs });
  const pkg = JSON.parse(readFileSync(join(dir, 'b', 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
  expect(pkg.dependencies['weft-mesh']).toBe('file:../tarballs/weft-mesh-1.2.3.tgz');
});

test('a non-empty directory is refused with WEFT_ERR_INIT_NOT_EMPTY and left as it was', () => {
  const busy = join(dir, 'busy');
  mkdirSync(busy);
  writeFileSync(join(busy, 'main.ts'), 'mine');
  expect(() => initProject({ dir: busy, version: '1.2.3' })).toThrow(expect.objectContaining({ code: 'WEFT_ERR_INIT_NOT_EMPTY' }));
  expect(readFileSync(join(busy, 'main.ts'), 'utf8')).toBe('mine');
});

test('the ranges it writes accept the versions weft itself is built and tested with', () => {
  const repo = JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };
  const pins = { ...repo.dependencies, ...repo.devDependencies };
  for (const [name, range] of Object.entries({ ...INIT_DEPENDENCIES.dependencies, ...INIT_DEPENDENCIES.devDependencies })) {
    expect([name, semver.satisfies(pins[name], range)]).toEqual([name, true]);
  }
});
