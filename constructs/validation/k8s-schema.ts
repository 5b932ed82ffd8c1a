/**
 * Offline manifest validation: every Kubernetes object against the upstream OpenAPI schemas
 * (kubernetes-models 4.5.1, which knows native-sidecar `initContainers[].restartPolicy`), every weft
 * custom resource against our CRD schema, and the weft custom resources together against meshProblems().
 * Limit: kubernetes-models does not reject unknown fields, so a misspelt Kubernetes field passes here.
 */
import { resourceProblems } from '../../api/crds';
import { buildModel } from '../../api/build-model';
import { callGraphProblems } from '../../api/call-graph';
import { isWeftResource, meshProblems } from '../../api/mesh-rules';

/** One problem of one synthesized object. */
export interface ManifestProblem {
  /** `kubernetes-schema`, `weft-crd-schema`, `weft-mesh-rules` or `weft-native-sidecar`. */
  readonly rule: string;
  /** Position of the object in the list given. */
  readonly index: number;
  readonly kind: string;
  readonly name: string;
  readonly namespace?: string;
  /** Where in the object (JSON pointer or path). */
  readonly location: string;
  readonly message: string;
  /** The stable code for weft rules. */
  readonly code?: string;
}

interface Obj { apiVersion?: string; kind?: string; metadata?: { name?: string; namespace?: string; annotations?: Record<string, string> }; spec?: unknown }
type ModelCtor = new (data: unknown) => { validate(): void };

const models = new Map<string, ModelCtor | undefined>();

/** The kubernetes-models class of an apiVersion/kind, or undefined when the package has none. */
export function modelFor(apiVersion: string, kind: string): ModelCtor | undefined {
  const k = `${apiVersion}/${kind}`;
  if (!models.has(k)) {
    let ctor: ModelCtor | undefined;
    if (/^[a-z0-9.]*\/?v[0-9a-z]+$/.test(apiVersion) && /^[A-Za-z]+$/.test(kind)) {
      try {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        ctor = (require(`kubernetes-models/${apiVersion}/${kind}`) as Record<string, ModelCtor>)[kind];
      } catch {
        ctor = undefined;
      }
    }
    models.set(k, ctor);
  }
  return models.get(k);
}

/** Problems of one object on its own (schema and native-sidecar shape). */
export function objectProblems(doc: unknown, index = 0): ManifestProblem[] {
  const o = (doc ?? {}) as Obj;
  const base = { index, kind: String(o.kind), name: String(o.metadata?.name), ...(o.metadata?.namespace ? { namespace: o.metadata.namespace } : {}) };
  if (isWeftResource(doc)) {
    return resourceProblems(o).map((m) => ({ ...base, rule: 'weft-crd-schema', location: m.split(':')[0], message: m, code: 'WEFT_ERR_INVALID_RESOURCE' }));
  }
  const Model = o.apiVersion && o.kind ? modelFor(o.apiVersion, o.kind) : undefined;
  if (!Model) return [{ ...base, rule: 'kubernetes-schema', location: '/', message: `no Kubernetes schema for ${o.apiVersion} ${o.kind}` }];
  const out: ManifestProblem[] = [];
  try {
    new Model(doc).validate();
  } catch (e) {
    const errors = (e as { errors?: { instancePath: string; message?: string }[] }).errors;
    if (errors?.length) for (const err of errors) out.push({ ...base, rule: 'kubernetes-schema', location: err.instancePath || '/', message: `${err.instancePath || '/'} ${err.message ?? 'is invalid'}` });
    else out.push({ ...base, rule: 'kubernetes-schema', location: '/', message: (e as Error).message });
  }
  return [...out, ...nativeSidecarProblems(doc).map((m) => ({ ...base, rule: 'weft-native-sidecar', location: '/spec/template/spec/initContainers', message: m }))];
}

/** A pod template marked `weft.dev/proxy: injected` must run the proxy as a native sidecar. */
export function nativeSidecarProblems(doc: unknown): string[] {
  const t = (doc as { spec?: { template?: { metadata?: { annotations?: Record<string, string> }; spec?: { initContainers?: { name: string; restartPolicy?: string }[] } } } })?.spec?.template;
  if (t?.metadata?.annotations?.['weft.dev/proxy'] !== 'injected') return [];
  const proxy = t.spec?.initContainers?.find((c) => c.name === 'weft-proxy');
  if (!proxy) return ['weft.dev/proxy is "injected" but there is no weft-proxy init container'];
  return proxy.restartPolicy === 'Always' ? [] : [`weft-proxy has restartPolicy ${JSON.stringify(proxy.restartPolicy)}; a native sidecar needs "Always"`];
}

/** Problems of a whole synthesized app: each object, then the weft resources together. */
export function manifestProblems(docs: readonly unknown[]): ManifestProblem[] {
  const out = docs.flatMap((d, i) => objectProblems(d, i));
  const weft = docs.map((d, i) => [d, i] as const).filter(([d]) => isWeftResource(d));
  // Schema problems were reported per object above; meshProblems repeats them as WEFT_ERR_INVALID_RESOURCE.
  for (const p of meshProblems(weft.map(([d]) => d as never)).filter((q) => q.code !== 'WEFT_ERR_INVALID_RESOURCE')) {
    out.push({ rule: 'weft-mesh-rules', index: weft[p.index]?.[1] ?? -1, kind: p.kind, name: p.name, ...(p.namespace ? { namespace: p.namespace } : {}), location: p.field, message: p.message, code: p.code });
  }
  // The call-graph errors (warnings were printed by the synth itself), on the model the control plane would build.
  for (const g of callGraphProblems(buildModel(weft.map(([d]) => d as never), []).model).filter((x) => x.severity === 'error')) {
    const index = weft.find(([d]) => (d as { kind: string }).kind === g.kind && (d as { metadata: { name: string } }).metadata.name === g.name)?.[1] ?? -1;
    out.push({ rule: 'weft-mesh-rules', index, kind: g.kind, name: g.name, namespace: g.namespace, location: g.field, message: `${g.message} [graph path: ${g.path.join(' → ')}]`, code: g.code });
  }
  return out;
}
