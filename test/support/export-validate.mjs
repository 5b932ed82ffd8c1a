// Validates exported objects against @kubernetes-models/gateway-api, @kubernetes-models/istio and
// kubernetes-models (core v1). Those packages are ESM-only, which jest's CommonJS VM cannot import,
// so test/support/export-schemas.ts runs this script as a real node process: JSON array on stdin,
// JSON `{ missing?, results: [{ index, kind, name, error? }] }` on stdout.
// Packages are looked up in each NODE_PATH entry, then in the repository's node_modules.
import { existsSync, readFileSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const roots = [...(process.env.NODE_PATH ?? '').split(delimiter).filter(Boolean), join(here, '..', '..', 'node_modules')];

function find(rel) {
  for (const r of roots) if (existsSync(join(r, rel))) return pathToFileURL(join(r, rel)).href;
  return undefined;
}

const MODULES = {
  'gateway.networking.k8s.io/v1': '@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1/index.js',
  'networking.istio.io/v1': '@kubernetes-models/istio/networking.istio.io/v1/index.js',
  'security.istio.io/v1': '@kubernetes-models/istio/security.istio.io/v1/index.js',
  v1: 'kubernetes-models/v1/index.mjs',
};

const objects = JSON.parse(readFileSync(0, 'utf8'));
const loaded = {};
const missing = [];
for (const [api, rel] of Object.entries(MODULES)) {
  const url = find(rel);
  if (!url) missing.push(rel.split('/').slice(0, rel.startsWith('@') ? 2 : 1).join('/'));
  else loaded[api] = await import(url);
}
const results = objects.map((o, index) => {
  const mod = loaded[o.apiVersion];
  const Model = mod?.[o.kind];
  const r = { index, kind: o.kind, name: o.metadata?.name };
  if (!Model) return { ...r, error: mod ? `no model for ${o.apiVersion} ${o.kind}` : `no package for ${o.apiVersion}` };
  try {
    new Model(o).validate();
    return r;
  } catch (e) {
    return { ...r, error: String(e?.message ?? e) };
  }
});
process.stdout.write(JSON.stringify({ missing: [...new Set(missing)], results }));
