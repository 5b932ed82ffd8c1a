/**
 * Synth-time translation: the same buildModel() + translate() the control plane runs, over the
 * resources of the app (no endpoints yet). A resource the model builder rejects, or a model the
 * translator cannot render, fails `cdk8s synth` with WEFT_ERR_UNTRANSLATABLE on the construct at fault.
 */
import { IConstruct } from 'constructs';
import { buildModel } from '../api/build-model';
import { MESH_REFERENCE_ANNOTATION } from '../api/mesh-rules';
import { WeftResource } from '../api/resources';
import { translate } from '../api/translate';
import { WeftValidationError } from './errors';

/** An emitted resource and the construct that emitted it. */
export interface Emitted {
  readonly emitter: IConstruct;
  readonly resource: WeftResource<unknown>;
}

const same = (r: WeftResource<unknown>, kind: string, ns: string | undefined, name: string) =>
  r.kind === kind && r.metadata.name === name && (ns === undefined || (r.metadata.namespace ?? 'default') === ns);

/** Builds and translates the mesh; throws on the first resource or service that cannot be rendered. */
export function translateHook(all: readonly Emitted[], fallback: IConstruct): void {
  const { model, statuses } = buildModel(all.map((a) => a.resource), []);
  // A mesh reference (Mesh.fromExisting) holds one repository's part: calls into other repositories stay unresolved here.
  const partial = all.some((a) => a.resource.kind === 'MeshConfig' && a.resource.metadata.annotations?.[MESH_REFERENCE_ANNOTATION] === 'true');
  const bad = statuses.find((s) => !s.accepted || (!s.resolvedRefs && !partial));
  if (bad) {
    const owner = all.find((a) => same(a.resource, bad.kind, bad.namespace, bad.name))?.emitter ?? fallback;
    throw new WeftValidationError('WEFT_ERR_UNTRANSLATABLE', `the control plane would reject ${bad.kind} ${bad.namespace ? `${bad.namespace}/` : ''}${bad.name} (${bad.code ?? bad.reason}): ${bad.message}`, owner, { prop: bad.reason });
  }
  const render = (what: string, owner: IConstruct, fn: () => unknown) => {
    try {
      fn();
    } catch (e) {
      const err = e as { code?: string; message?: string };
      throw new WeftValidationError('WEFT_ERR_UNTRANSLATABLE', `translate() failed for ${what} (${err.code ?? 'error'}): ${err.message ?? String(e)}`, owner);
    }
  };
  render('proxyless clients', fallback, () => translate(model, { kind: 'proxyless' }));
  for (const s of model.services) {
    const owner = all.find((a) => same(a.resource, 'MeshService', s.namespace, s.name))?.emitter ?? fallback;
    for (const v of s.versions) {
      render(`${s.namespace}/${s.name} ${v.name}`, owner, () => translate(model, { kind: 'sidecar', node: { service: s.name, namespace: s.namespace, version: v.name } }));
    }
  }
}
