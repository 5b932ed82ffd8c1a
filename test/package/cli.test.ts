/** The `weft` bin of weft-mesh without the runtime: check and init for real, the runtime commands as coded pointers. */
import { buildProgram } from '../../cli/main';
import { buildLiteProgram, findRuntime, RUNTIME_COMMANDS } from '../../package/cli';

const names = (p: { commands: readonly { name(): string }[] }) => p.commands.map((c) => c.name()).sort();

test('the lite program offers every command of the full one (no drift between the two lists)', () => {
  expect(names(buildLiteProgram())).toEqual(names(buildProgram()));
  expect(Object.keys(RUNTIME_COMMANDS)).not.toContain('check');
});

test.each(Object.keys(RUNTIME_COMMANDS))('`weft %s` without weft-mesh-runtime fails with WEFT_ERR_RUNTIME_MISSING and the install line', async (name) => {
  const program = buildLiteProgram().exitOverride();
  await expect(program.parseAsync(['node', 'weft', name, '--some-flag'])).rejects.toMatchObject({
    code: 'WEFT_ERR_RUNTIME_MISSING', exitCode: 2, message: expect.stringContaining('npm install --save-dev weft-mesh-runtime'),
  });
});

test('findRuntime: not installed in this repository (it is built from the sources here)', () => {
  expect(findRuntime([__dirname])).toBeUndefined();
});
