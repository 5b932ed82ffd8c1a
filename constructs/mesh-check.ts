/**
 * The whole-mesh check that runs at synth (from Mesh's `node.addValidation`): local completeness
 * of every weft construct, the cross-resource rules of api/mesh-rules.ts, the call-graph analysis
 * of api/call-graph.ts, then buildModel() + translate(). Every problem is collected and mapped back
 * to the construct at fault, so one synth reports all of them (WeftValidationError.aggregate).
 */
import { ApiObject } from 'cdk8s';
import { IConstruct } from 'constructs';
import { buildModel } from '../api/build-model';
import { callGraphProblems, GraphProblem } from '../api/call-graph';
import { MeshProblem, meshProblems } from '../api/mesh-rules';
import { WeftResource } from '../api/resources';
import { isEmitter, IWeftResourceEmitter } from './custom-resource';
import { ValidationCode, VALIDATION_CODES, WarningCode, WeftValidationError } from './errors';
import { translateHook } from './translate-hook';

/** Every weft custom resource the app around `scope` emits, with its construct. */
export function collectResources(scope: IConstruct): { emitter: IWeftResourceEmitter; resource: WeftResource<unknown> }[] {
  return scope.node.root.node.findAll().filter(isEmitter).map((emitter) => ({ emitter, resource: emitter._weftResource() }));
}

/** A synth-time warning: printed and recorded as construct metadata (`weft:warning`), never fatal. */
export interface MeshWarning {
  readonly code: WarningCode;
  /** Construct path of the construct at fault. */
  readonly path: string;
  /** The construct at fault. */
  readonly construct: IConstruct;
  readonly message: string;
  readonly fix: string;
  /** The path through the call graph. */
  readonly graphPath: readonly string[];
}

/** What the check found. */
export interface MeshCheckResult {
  readonly errors: WeftValidationError[];
  readonly warnings: MeshWarning[];
}

/** Runs every check over the app around `mesh`; collects instead of throwing. */
export function meshCheck(mesh: IConstruct): MeshCheckResult {
  const errors: WeftValidationError[] = [];
  const warnings: MeshWarning[] = [];
  const everything = mesh.node.root.node.findAll();
  for (const e of everything.filter(isEmitter)) collect(errors, () => e._validateLocal());
  const all = collectResources(mesh);
  const resources = all.map((a) => a.resource);
  serviceNameConflicts(everything, all, errors);
  const problems = meshProblems(resources);
  for (const p of problems) errors.push(toError(p, all, mesh));
  const owner = (kind: string, ns: string | undefined, name: string) =>
    all.find((a) => a.resource.kind === kind && a.resource.metadata.name === name && (ns === undefined || (a.resource.metadata.namespace ?? 'default') === ns))?.emitter ?? mesh;
  // The graph is judged on what the control plane would accept (rejected resources are left out).
  const { model } = buildModel(resources, []);
  const partial = (mesh as { installsControlPlane?: boolean }).installsControlPlane === false;
  for (const g of callGraphProblems(model)) {
    // One repository's part of a mesh: its services' callers may live in other repositories.
    if (partial && g.code === 'WEFT_WARN_UNREACHABLE') continue;
    const at = owner(g.kind, g.namespace, g.name);
    if (g.severity === 'warning') {
      warnings.push({ code: g.code as WarningCode, path: at.node.path, construct: at, message: g.message, fix: g.fix, graphPath: g.path });
    } else {
      errors.push(graphError(g, at));
    }
  }
  if (!errors.length) collect(errors, () => translateHook(all, mesh));
  return { errors, warnings };
}

/** Throws every problem of the mesh at once; records and prints its warnings. */
export function checkMesh(mesh: IConstruct): void {
  const { errors, warnings } = meshCheck(mesh);
  reportWarnings(mesh, warnings);
  if (errors.length) throw WeftValidationError.aggregate(errors);
}

const kReported = Symbol.for('weft.constructs.warnings-reported');

/**
 * Warnings go on the construct's metadata (`weft:warning`, as aws-cdk's Annotations do) and to
 * stderr — once per app, since cdk8s validates again for every chart — except under jest, where
 * tests read them with meshCheck().
 */
function reportWarnings(mesh: IConstruct, warnings: readonly MeshWarning[]): void {
  const root = mesh.node.root as unknown as Record<symbol, Set<string> | undefined>;
  const seen = root[kReported] ?? new Set<string>();
  if (!root[kReported]) Object.defineProperty(root, kReported, { value: seen });
  for (const w of warnings) {
    const line = `${w.code} [${w.path}] ${w.message}. Fix: ${w.fix}`;
    if (seen.has(line)) continue;
    seen.add(line);
    w.construct.node.addMetadata('weft:warning', { code: w.code, message: w.message, fix: w.fix, graphPath: w.graphPath });
    if (process.env.JEST_WORKER_ID === undefined) process.stderr.write(`weft warning: ${line}\n`);
  }
}

/** Runs `fn`, keeping every WeftValidationError it throws (other errors are bugs and propagate). */
function collect(into: WeftValidationError[], fn: () => void): void {
  try {
    fn();
  } catch (e) {
    if (!WeftValidationError.isWeftValidationError(e)) throw e;
    into.push(...e.errors);
  }
}

function toError(p: MeshProblem, all: ReturnType<typeof collectResources>, fallback: IConstruct): WeftValidationError {
  const owner = all[p.index];
  const code = (p.code in VALIDATION_CODES ? p.code : 'WEFT_ERR_INVALID_RESOURCE') as ValidationCode;
  const where = p.namespace ? `${p.kind} ${p.namespace}/${p.name}` : `${p.kind} ${p.name}`;
  return new WeftValidationError(code, `${where}: ${p.message}`, owner?.emitter ?? fallback, { prop: p.field, ...(p.fix ? { fix: p.fix } : {}) });
}

function graphError(g: GraphProblem, at: IConstruct): WeftValidationError {
  const code = (g.code in VALIDATION_CODES ? g.code : 'WEFT_ERR_INVALID_RESOURCE') as ValidationCode;
  return new WeftValidationError(code, `${g.message} [graph path: ${g.path.join(' → ')}]`, at, { prop: g.field, fix: g.fix });
}

/** A plain Kubernetes Service (not the one a MeshService synthesizes) named like a MeshService of its namespace. */
function serviceNameConflicts(everything: IConstruct[], all: ReturnType<typeof collectResources>, errors: WeftValidationError[]): void {
  const meshServices = all.filter((a) => a.resource.kind === 'MeshService');
  if (!meshServices.length) return;
  const own = new Set<IConstruct>(meshServices.map((a) => (a.emitter as unknown as { service?: IConstruct }).service).filter((x): x is IConstruct => x !== undefined));
  for (const c of everything) {
    if (!ApiObject.isApiObject(c) || c.kind !== 'Service' || c.apiVersion !== 'v1' || own.has(c)) continue;
    const ns = c.metadata.namespace ?? 'default';
    const hit = meshServices.find((a) => a.resource.metadata.name === c.metadata.name && (a.resource.metadata.namespace ?? 'default') === ns);
    if (!hit) continue;
    errors.push(new WeftValidationError('WEFT_ERR_SERVICE_NAME_CONFLICT',
      `Service ${ns}/${c.metadata.name} has the name of the MeshService at ${hit.emitter.node.path}, which already synthesizes that Service; one would overwrite the other on apply`,
      c, { prop: 'metadata.name', value: c.metadata.name, fix: `rename this Service, or drop it and use the MeshService's (${hit.emitter.node.path}/Service)` }));
  }
}
