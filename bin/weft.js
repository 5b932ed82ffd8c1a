#!/usr/bin/env node
// Runs the TypeScript CLI directly (transpile-only: type-checking is CI's `tsc --noEmit`).
// The OCI image runs an esbuild bundle instead.
require('ts-node').register({ transpileOnly: true, compilerOptions: { module: 'commonjs' } });
require('../cli/main.ts').buildProgram().parseAsync(process.argv).catch((e) => {
  process.stderr.write(`weft: ${e && e.code ? e.code + ': ' : ''}${(e && e.message) || e}\n`);
  process.exitCode = typeof (e && e.exitCode) === 'number' ? e.exitCode : 1;
});
