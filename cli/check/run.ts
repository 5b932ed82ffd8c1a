/**
 * `weft check` as a pure function: dist dir in, problems out, nothing printed. Three validators run
 * on every object: the Kubernetes schemas, weft's CRD schemas, and the cross-resource mesh rules
 * the constructs run at synth time, so a hand-edited or stale dist fails before it reaches a cluster.
 */
import { resourceProblems, crdFor } from '../../api/crds';
import { buildModel } from '../../api/build-model';
import { callGraphProblems, GraphProblem } from '../../api/call-graph';
import { meshProblems, MeshProblem } from '../../api/mesh-rules';
import { DNS1123_LABEL, DNS1123_SUBDOMAIN } from '../../api/names';
import { API_VERSION, GROUP, KINDS, Kind, WeftResource } from '../../api/resources';
import { bootstrapSchema } from '../../api/bootstrap';
import { problemsOf } from '../../api/schema';
import { unknownFields } from './fields';
import { kubeModel, kubeProblems } from './kube';
import { loadDist, Manifest } from './load';
import { CheckProblem } from './problems';

/** The outcome of checking one dist directory. */
export interface CheckResult {
  readonly dist: string;
  readonly files: readonly string[];
  /** Objects found (items of a List count one each). */
  readonly objects: number;
  /** Objects validated against a schema, by validator. */
  readonly checked: { readonly kubernetes: number; readonly weft: number };
  /** `Kind/ns/name` of objects whose kind a CRD in the dist defines (no schema validation here). */
  readonly unchecked: readonly string[];
  /** Every problem, ordered by file and line. */
  readonly problems: readonly CheckProblem[];
  /** Call-graph warnings (`WEFT_WARN_*`): printed, but they do not fail the check. */
  readonly warnings: readonly CheckProblem[];
}

interface Meta { readonly name?: unknown; readonly namespace?: unknown }

/** Key of the proxy bootstrap in the per-workload ConfigMap the constructs render. */
const BOOTSTRAP_KEY = 'bootstrap.json';

const CLUSTER_SCOPED_WEFT: ReadonlySet<string> = new Set((Object.keys(KINDS) as Kind[]).filter((k) => KINDS[k].scope === 'Cluster'));
/** Kinds whose names must be DNS-1123 labels rather than subdomains (the API server's rule). */
const LABEL_NAMED = new Set(['Service', 'Namespace', 'MeshService', 'CanaryRoute', 'MtlsPolicy']);

function metaOf(m: Manifest): Meta {
  const meta = m.object.metadata;
  return typeof meta === 'object' && meta !== null && !Array.isArray(meta) ? (meta as Meta) : {};
}

function objectName(m: Manifest): string {
  const { name, namespace } = metaOf(m);
  const kind = String(m.object.kind);
  const n = typeof name === 'string' ? name : '<unnamed>';
  if (String(m.object.apiVersion).startsWith(`${GROUP}/`)) {
    return CLUSTER_SCOPED_WEFT.has(kind) ? `${kind}/${n}` : `${kind}/${typeof namespace === 'string' ? namespace : 'default'}/${n}`;
  }
  return typeof namespace === 'string' ? `${kind}/${namespace}/${n}` : `${kind}/${n}`;
}

/** Deterministic JSON (sorted keys) so two objects compare by content, not key order. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (typeof v === 'object' && v !== null) {
    return `{${Object.keys(v).sort().filter((k) => (v as Record<string, unknown>)[k] !== undefined).map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

/** `group/version/kind` of every custom kind the dist's own CRDs define. */
function crdKinds(manifests: readonly Manifest[]): Set<string> {
  const out = new Set<string>();
  for (const m of manifests) {
    if (m.object.kind !== 'CustomResourceDefinition') continue;
    const spec = m.object.spec as { group?: string; names?: { kind?: string }; versions?: { name?: string }[] } | undefined;
    for (const v of spec?.versions ?? []) out.add(`${spec?.group}/${v.name}/${spec?.names?.kind}`);
  }
  return out;
}

/** Checks every object under `dir`. Throws a UsageError (exit 2) when `dir` is missing or empty. */
export function checkDist(dir: string): CheckResult {
  const loaded = loadDist(dir);
  const problems: CheckProblem[] = [...loaded.problems];
  const custom = crdKinds(loaded.manifests);
  const weft: { res: WeftResource<unknown>; m: Manifest }[] = [];
  const unchecked: string[] = [];
  const seen = new Set<string>();
  let kubernetes = 0;
  let weftChecked = 0;

  for (const m of loaded.manifests) {
    const apiVersion = String(m.object.apiVersion);
    const kind = String(m.object.kind);
    const object = objectName(m);
    const report = (code: string, field: string, message: string, fix?: string) =>
      problems.push({ code, object, field, message, ...(fix ? { fix } : {}), file: m.file, line: m.lineOf(field) });

    nameProblems(m, report);
    if (apiVersion.startsWith(`${GROUP}/`)) {
      weftChecked++;
      for (const p of resourceProblems(m.object)) {
        const colon = p.indexOf(': ');
        report('WEFT_ERR_INVALID_RESOURCE', colon > 0 ? p.slice(0, colon) : '', colon > 0 ? p.slice(colon + 2) : p);
      }
      // The mesh rules need a named object; a nameless one is already reported by nameProblems().
      if (apiVersion === API_VERSION && typeof metaOf(m).name === 'string') weft.push({ res: m.object as unknown as WeftResource<unknown>, m });
      continue;
    }
    const key = `${apiVersion.split('/').length > 1 ? apiVersion.split('/')[0] : ''}/${object}`;
    if (seen.has(key)) report('WEFT_ERR_DUPLICATE_NAME', 'metadata.name', `${object} is defined twice`);
    seen.add(key);
    const cls = kubeModel(apiVersion, kind);
    if (cls) {
      kubernetes++;
      for (const [field, message] of kubeProblems(cls, m.object)) report('WEFT_ERR_CHECK_K8S_SCHEMA', field, message);
      for (const [field, message] of unknownFields(apiVersion, kind, m.object)) report('WEFT_ERR_CHECK_UNKNOWN_FIELD', field, message);
      if (kind === 'CustomResourceDefinition') staleCrd(m, report);
      if (kind === 'ConfigMap') bootstrapProblems(m, report);
    } else if (custom.has(`${apiVersion}/${kind}`)) {
      unchecked.push(object);
    } else {
      report('WEFT_ERR_CHECK_UNKNOWN_KIND', 'kind', `${apiVersion} ${kind} is neither a Kubernetes kind nor defined by a CustomResourceDefinition in this dist`);
    }
  }

  problems.push(...meshRuleProblems(weft));
  const graph = callGraphCheck(weft);
  problems.push(...graph.errors);
  const byPlace = (a: CheckProblem, b: CheckProblem) => a.file.localeCompare(b.file) || (a.line ?? 0) - (b.line ?? 0);
  problems.sort(byPlace);
  const warnings = [...graph.warnings].sort(byPlace);
  return { dist: dir, files: loaded.files, objects: loaded.manifests.length, checked: { kubernetes, weft: weftChecked }, unchecked, problems, warnings };
}

type Report = (code: string, field: string, message: string, fix?: string) => void;

/** Names the API server would refuse (it checks them outside the OpenAPI schema). */
function nameProblems(m: Manifest, report: Report): void {
  const { name, namespace } = metaOf(m);
  if (typeof name !== 'string' || name === '') {
    if (!String(m.object.kind).endsWith('List')) report('WEFT_ERR_CHECK_NAME', 'metadata.name', 'is required');
  } else if (LABEL_NAMED.has(String(m.object.kind)) ? !DNS1123_LABEL.test(name) : !DNS1123_SUBDOMAIN.test(name) || name.length > 253) {
    const what = LABEL_NAMED.has(String(m.object.kind)) ? 'a DNS-1123 label (lower-case letters, digits and "-", at most 63)' : 'a DNS-1123 subdomain';
    report('WEFT_ERR_CHECK_NAME', 'metadata.name', `${JSON.stringify(name)} is not ${what}`);
  }
  if (namespace !== undefined && (typeof namespace !== 'string' || !DNS1123_LABEL.test(namespace))) {
    report('WEFT_ERR_CHECK_NAME', 'metadata.namespace', `${JSON.stringify(namespace)} is not a DNS-1123 label`);
  }
}

/** A weft CRD in the dist that differs from what this weft generates: the dist predates an upgrade. */
function staleCrd(m: Manifest, report: Report): void {
  const spec = m.object.spec as { group?: string; names?: { kind?: string } } | undefined;
  if (spec?.group !== GROUP) return;
  const kind = spec.names?.kind;
  if (!kind || !(kind in KINDS)) {
    report('WEFT_ERR_CHECK_STALE_CRD', 'spec.names.kind', `${JSON.stringify(kind)} is not a kind of this weft (${Object.keys(KINDS).join(', ')})`, 're-run `cdk8s synth` with this weft version');
  } else if (canonical(spec) !== canonical(crdFor(kind as Kind).spec)) {
    report('WEFT_ERR_CHECK_STALE_CRD', 'spec', `the ${kind} CRD differs from the one this weft version generates`, 're-run `cdk8s synth` with this weft version');
  }
}

/** A sidecar bootstrap ConfigMap (`data["bootstrap.json"]`) must hold what the proxy's own parser accepts. */
function bootstrapProblems(m: Manifest, report: Report): void {
  const text = (m.object.data as Record<string, unknown> | undefined)?.[BOOTSTRAP_KEY];
  if (typeof text !== 'string') return;
  const field = `data["${BOOTSTRAP_KEY}"]`;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    return report('WEFT_ERR_CHECK_BOOTSTRAP', field, `is not JSON: ${(e as Error).message}`);
  }
  for (const p of problemsOf(bootstrapSchema, value, '')) report('WEFT_ERR_CHECK_BOOTSTRAP', field, p.replace(/^\./, ''));
}

/** The cross-resource rules of api/mesh-rules.ts, located back in the dist files. */
function meshRuleProblems(weft: readonly { res: WeftResource<unknown>; m: Manifest }[]): CheckProblem[] {
  const where = new Map<string, Manifest[]>();
  for (const { m } of weft) {
    const k = objectName(m);
    where.set(k, [...(where.get(k) ?? []), m]);
  }
  let found: MeshProblem[];
  try {
    found = meshProblems(weft.map((w) => w.res));
  } catch (e) {
    // A rule that trips over malformed input must not hide every other problem behind a stack trace.
    return [{ code: 'WEFT_ERR_CHECK_INTERNAL', object: '(mesh rules)', field: '', message: `the mesh rules failed: ${(e as Error).message}`, file: weft[0]?.m.file ?? '' }];
  }
  return found
    // Schema problems are already reported field by field above.
    .filter((p: MeshProblem) => p.code !== 'WEFT_ERR_INVALID_RESOURCE')
    .map((p: MeshProblem) => {
      const object = p.namespace === undefined ? `${p.kind}/${p.name}` : `${p.kind}/${p.namespace}/${p.name}`;
      const found = where.get(object) ?? [];
      // A duplicate is reported on its second definition.
      const m = p.code === 'WEFT_ERR_DUPLICATE_NAME' && p.field === 'metadata.name' ? found[1] ?? found[0] : found[0];
      return { code: p.code, object, field: p.field, message: p.message, ...(p.fix ? { fix: p.fix } : {}), file: m?.file ?? '', line: m?.lineOf(p.field) };
    });
}

/** The call-graph analysis of api/call-graph.ts over the model the control plane would build from the dist. */
function callGraphCheck(weft: readonly { res: WeftResource<unknown>; m: Manifest }[]): { errors: CheckProblem[]; warnings: CheckProblem[] } {
  const errors: CheckProblem[] = [];
  const warnings: CheckProblem[] = [];
  let found: GraphProblem[];
  try {
    found = callGraphProblems(buildModel(weft.map((w) => w.res), []).model);
  } catch (e) {
    return { errors: [{ code: 'WEFT_ERR_CHECK_INTERNAL', object: '(call graph)', field: '', message: `the call-graph analysis failed: ${(e as Error).message}`, file: weft[0]?.m.file ?? '' }], warnings };
  }
  for (const g of found) {
    const object = `${g.kind}/${g.namespace}/${g.name}`;
    const m = weft.find((w) => objectName(w.m) === object)?.m;
    const p: CheckProblem = { code: g.code, object, field: g.field, message: `${g.message} [graph path: ${g.path.join(' → ')}]`, fix: g.fix, file: m?.file ?? '', line: m?.lineOf(g.field) };
    (g.severity === 'warning' ? warnings : errors).push(p);
  }
  return { errors, warnings };
}
