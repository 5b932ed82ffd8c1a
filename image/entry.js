// Entry of the image's esbuild bundle. Every `require.main === module` guard in the sources is
// defined false at bundle time (inside one bundle they would all be true and each main would run),
// so this file is the only thing that starts a program: the weft CLI, as bin/weft.js does.
const { buildProgram } = require('../cli/main');

buildProgram().parseAsync(process.argv).catch((e) => {
  process.stderr.write(`weft: ${e && e.code ? e.code + ': ' : ''}${(e && e.message) || e}\n`);
  process.exitCode = typeof (e && e.exitCode) === 'number' ? e.exitCode : 1;
});
