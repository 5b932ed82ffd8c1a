/**
 * The whole-mesh check that runs at synth (from Mesh's `node.addValidation`): local completeness
 * of every weft construct first, then the cross-resource rules of api/mesh-rules.ts, each problem
 * mapped back to the construct that emitted the resource, then buildModel() + translate().
 */
import { IConstruct } from 'constructs';
import { MeshProblem, meshProblems } from '../api/mesh-rules';
import { WeftResource } from '../api/resources';
import { isEmitter, IWeftResourceEmitter } from './custom-resource';
import { ValidationCode, VALIDATION_CODES, WeftValidationError } from './errors';
import { translateHook } from './translate-hook';

/** Every weft custom resource the app around `scope` emits, with its construct. */
export function collectResources(scope: IConstruct): { emitter: IWeftResourceEmitter; resource: WeftResource<unknown> }[] {
  return scope.node.root.node.findAll().filter(isEmitter).map((emitter) => ({ emitter, resource: emitter._weftResource() }));
}

/** Throws the first problem of the mesh as a WeftValidationError on the construct at fault. */
export function checkMesh(mesh: IConstruct): void {
  for (const e of mesh.node.root.node.findAll().filter(isEmitter)) e._validateLocal();
  const all = collectResources(mesh);
  const problems = meshProblems(all.map((a) => a.resource));
  if (problems.length) throw toError(problems, all, mesh);
  translateHook(all, mesh);
}

function toError(problems: MeshProblem[], all: ReturnType<typeof collectResources>, fallback: IConstruct): WeftValidationError {
  const [p, ...rest] = problems;
  const owner = all[p.index];
  const code = (p.code in VALIDATION_CODES ? p.code : 'WEFT_ERR_INVALID_RESOURCE') as ValidationCode;
  const more = rest.length ? ` (and ${rest.length} more: ${[...new Set(rest.map((q) => q.code))].join(', ')})` : '';
  const where = p.namespace ? `${p.kind} ${p.namespace}/${p.name}` : `${p.kind} ${p.name}`;
  return new WeftValidationError(code, `${where}: ${p.message}${more}`, owner?.emitter ?? fallback, { prop: p.field, ...(p.fix ? { fix: p.fix } : {}) });
}
