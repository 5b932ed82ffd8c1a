#!/usr/bin/env node
'use strict';
// `npm run synth`: runs `cdk8s synth --no-check-upgrade` (app and validation plugin from cdk8s.yaml),
// then says where the manifests went. Extra arguments are passed to cdk8s.
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const cli = path.join(root, 'node_modules', 'cdk8s-cli', 'bin', 'cdk8s');
const args = ['synth', '--no-check-upgrade', ...process.argv.slice(2)];
const r = spawnSync(process.execPath, [cli, ...args], { cwd: root, stdio: 'inherit' });
if (r.status !== 0) {
  console.error(`cdk8s synth failed (exit ${r.status ?? r.signal})`);
  process.exit(r.status || 1);
}
const outIdx = args.findIndex((a) => a === '-o' || a === '--output');
const outdir = path.resolve(root, outIdx >= 0 ? args[outIdx + 1] : 'dist');
const files = fs.existsSync(outdir) ? fs.readdirSync(outdir).filter((f) => f.endsWith('.yaml')) : [];
const objects = files.reduce((n, f) => n + (fs.readFileSync(path.join(outdir, f), 'utf8').match(/^kind: /gm) || []).length, 0);
console.log(`manifests written to ${path.relative(process.cwd(), outdir) || '.'}/ (${outdir}): ${files.join(', ')} — ${objects} objects`);
