// Generates cli/check/k8s-fields.json: the known fields of every Kubernetes kind and nested type,
// read from @kubernetes/client-node's generated models (attributeTypeMap). kubernetes-models'
// validators do not close objects, so this table is how `weft check` catches a misspelt field.
// The file is generated, not read at run time from node_modules: the OCI image has none, and
// client-node is ESM (CommonJS code cannot require it on Node 20).
//
// Usage: node cli/check/gen-k8s-fields.mjs          (write)
//        node cli/check/gen-k8s-fields.mjs --check  (exit 1 when the committed file is stale)
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as k8s from '@kubernetes/client-node';

const require = createRequire(import.meta.url);
const out = new URL('./k8s-fields.json', import.meta.url);
const models = require('kubernetes-models');

/** `v1beta1` → `V1beta1`; `networking.k8s.io` → `Networking`. */
const cap = (s) => s.charAt(0).toUpperCase() + s.slice(1);
const groupKey = (g) => g.split('.').map((p, i) => (i === 0 ? p : cap(p))).join('');

const types = {};
for (const [name, cls] of Object.entries(k8s)) {
  if (typeof cls === 'function' && Array.isArray(cls.attributeTypeMap)) {
    types[name] = Object.fromEntries(cls.attributeTypeMap.map((a) => [a.baseName, a.type]));
  }
}

// apiVersion/kind → model name, for every kind kubernetes-models validates.
const kinds = {};
for (const [gk, exported] of Object.entries(models)) {
  // The core group is exported as `v1` (kinds directly); every other group as group → version → kinds.
  const byVersion = gk === 'v1' ? { v1: exported } : exported;
  for (const [version, byKind] of Object.entries(byVersion ?? {})) {
    if (typeof byKind !== 'object' || byKind === null) continue;
    for (const [kind, cls] of Object.entries(byKind)) {
      if (typeof cls !== 'function' || cls.kind !== kind || typeof cls.apiVersion !== 'string') continue;
      const group = cls.apiVersion.includes('/') ? cls.apiVersion.split('/')[0] : '';
      const prefix = group === '' ? 'Core' : cap(groupKey(group).replace(/K8sIo$/, ''));
      const candidates = [`${cap(version)}${kind}`, `${prefix}${cap(version)}${kind}`];
      const found = candidates.find((c) => types[c] && types[c].kind === 'string' && types[c].apiVersion === 'string');
      if (found) kinds[`${cls.apiVersion}/${kind}`] = found;
    }
  }
}

// Keep only the types reachable from a kind: the table stays small.
const keep = new Set();
const visit = (name) => {
  if (keep.has(name) || !types[name]) return;
  keep.add(name);
  for (const t of Object.values(types[name])) for (const m of t.match(/[A-Z][A-Za-z0-9]+/g) ?? []) visit(m);
};
Object.values(kinds).forEach(visit);
const table = {
  source: `@kubernetes/client-node ${require('@kubernetes/client-node/package.json').version}`,
  kinds: Object.fromEntries(Object.entries(kinds).sort()),
  types: Object.fromEntries([...keep].sort().map((n) => [n, types[n]])),
};
const text = `${JSON.stringify(table)}\n`;

if (process.argv.includes('--check')) {
  let current = '';
  try {
    current = readFileSync(out, 'utf8');
  } catch {
    // missing counts as stale
  }
  if (current !== text) {
    process.stderr.write('cli/check/k8s-fields.json is stale: run node cli/check/gen-k8s-fields.mjs\n');
    process.exit(1);
  }
} else {
  writeFileSync(out, text);
  process.stdout.write(`wrote ${Object.keys(table.kinds).length} kinds, ${keep.size} types\n`);
}
