/**
 * `exportMesh(chart, target)`: the mesh a cdk8s chart (or app) synthesizes, as Istio or Gateway API
 * GAMMA resources. The conversion itself is pure and lives in api/export/.
 */
import { exportManifests, type ExportOptions, type ExportResult, type ExportTarget } from '../api/export';

/** Anything that synthesizes manifests: a cdk8s `Chart` (`toJson()`), or an `App` (its charts). */
export type ExportSource = { toJson(): unknown[] } | { readonly charts: readonly { toJson(): unknown[] }[] };

/**
 * Exports the mesh of `source` to `target` (`'istio'` or `'gateway-api'`). Returns the objects and a
 * `WEFT_ERR_EXPORT_UNSUPPORTED` warning for each thing the target cannot express; throws
 * `WEFT_ERR_EXPORT_TARGET` for an unknown target.
 */
export function exportMesh(source: ExportSource, target: ExportTarget, options: ExportOptions = {}): ExportResult {
  const objects = 'charts' in source ? source.charts.flatMap((c) => c.toJson()) : source.toJson();
  return exportManifests(objects, target, options);
}

export type { ExportOptions, ExportResult, ExportTarget, ExportWarning, KubeObject } from '../api/export';
