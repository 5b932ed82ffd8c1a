/**
 * The weft custom resources a construct emits. The spec is rendered lazily (so mutator calls made
 * after the constructor still count), and every emitter is findable in the tree so the Mesh can run
 * the cross-resource rules of api/mesh-rules.ts over all of them at synth time.
 */
import { ApiObject, JsonPatch, Lazy } from 'cdk8s';
import { Construct, IConstruct } from 'constructs';
import { API_VERSION, Kind, WeftResource } from '../api/resources';

const kEmitterKind = Symbol.for('weft.constructs.emitter-kind');
const kEmitter = Symbol.for('weft.constructs.emitter');

/** A construct that emits one weft custom resource. */
export interface IWeftResourceEmitter extends IConstruct {
  /** The custom resource as it will be synthesized. @internal */
  _weftResource(): WeftResource<unknown>;
  /** Completeness checks that need no other construct; throws WeftValidationError. @internal */
  _validateLocal(): void;
}

/** Marks `c` as an emitter of `kind` (a brand, not `instanceof`, so two copies of this module agree). */
export function registerEmitter(c: IWeftResourceEmitter, kind: string): void {
  Object.defineProperty(c, kEmitter, { value: true });
  Object.defineProperty(c, kEmitterKind, { value: kind });
}

/** The kind of custom resource `c` emits, without rendering it (a MeshService's spec is not cheap). */
export function emitterKind(c: IConstruct): string | undefined {
  return (c as unknown as Record<symbol, string | undefined>)[kEmitterKind];
}

/** Whether `c` emits a weft custom resource. */
export function isEmitter(c: IConstruct): c is IWeftResourceEmitter {
  return (c as unknown as Record<symbol, unknown>)[kEmitter] === true;
}

/** What a custom resource looks like before its spec is rendered. */
export interface CustomResourceOptions {
  readonly kind: Kind;
  readonly name: string;
  /** Undefined for cluster-scoped kinds (MeshConfig). */
  readonly namespace?: string;
  readonly labels?: Record<string, string>;
  readonly annotations?: Record<string, string>;
  /** Produces the spec at synth time. */
  readonly spec: () => unknown;
}

/** Emits one `weft.dev/v1alpha1` object under `scope` with id `Resource`. */
export function customResource(scope: Construct, opts: CustomResourceOptions): ApiObject {
  const obj = new ApiObject(scope, 'Resource', {
    apiVersion: API_VERSION,
    kind: opts.kind,
    metadata: { name: opts.name, namespace: opts.namespace, labels: opts.labels, annotations: opts.annotations },
    spec: Lazy.any({ produce: () => opts.spec() }),
  });
  if (opts.namespace === undefined) clusterScoped(obj);
  return obj;
}

/** Removes the namespace a Chart stamps on every object, for cluster-scoped kinds. */
export function clusterScoped(obj: ApiObject): ApiObject {
  if (obj.metadata.namespace !== undefined) obj.addJsonPatch(JsonPatch.remove('/metadata/namespace'));
  return obj;
}

/** The WeftResource view of an emitted object, as meshProblems() reads it. */
export function asResource<S>(opts: Omit<CustomResourceOptions, 'spec'>, spec: S): WeftResource<S> {
  return {
    apiVersion: API_VERSION,
    kind: opts.kind,
    metadata: {
      name: opts.name,
      ...(opts.namespace !== undefined ? { namespace: opts.namespace } : {}),
      ...(opts.labels ? { labels: opts.labels } : {}),
      ...(opts.annotations ? { annotations: opts.annotations } : {}),
    },
    spec,
  };
}
