/**
 * Schema validation of exported objects with the real @kubernetes-models packages (run in a child
 * node process, see export-validate.mjs). A missing package is an error, never a skipped check.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

/** Why an object failed its schema. */
export interface SchemaFailure {
  readonly index: number;
  readonly kind: string;
  readonly name: string;
  readonly error: string;
}

/** The devDependencies the export schema tests need (pinned). */
export const EXPORT_SCHEMA_PACKAGES = ['@kubernetes-models/gateway-api@2.0.0', '@kubernetes-models/istio@3.0.1'];

/** Validates `objects`; returns the failures (empty when all pass). Throws when a package is missing. */
export function schemaFailures(objects: readonly unknown[]): SchemaFailure[] {
  const r = spawnSync(process.execPath, [join(__dirname, 'export-validate.mjs')], { input: JSON.stringify(objects), encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`export-validate.mjs failed (${r.status}): ${r.stderr}`);
  const out = JSON.parse(r.stdout) as { missing: string[]; results: (SchemaFailure & { error?: string })[] };
  if (out.missing.length) {
    throw new Error(`cannot validate exported objects: ${out.missing.join(', ')} not installed (devDependencies ${EXPORT_SCHEMA_PACKAGES.join(', ')}; or NODE_PATH pointing at a node_modules holding them)`);
  }
  if (out.results.length !== objects.length) throw new Error(`validated ${out.results.length} of ${objects.length} objects`);
  return out.results.filter((x): x is SchemaFailure => x.error !== undefined);
}
