/**
 * `weft-mesh/testing`: what a jest test needs to assert on a mesh — `mayCall()` asked of a chart
 * (namespaces default to the chart's), `meshObjects()` for a snapshot of the mesh's own objects
 * (no CRDs, no control-plane install), and `meshModel()`, the model the control plane would build.
 */
import { mayCall as askMayCall, meshModelOf } from '../api/may-call';
import type { MayCallDecision, MayCallQuery } from '../api/may-call';
import type { MeshModel } from '../api/model';
import { isWeftControlPlane } from '../stacks/plan';
import type { KubeObject } from '../stacks/objects';

export type { MayCallDecision, MayCallQuery, MayCallSource } from '../api/may-call';
export type { MeshModel } from '../api/model';
export type { KubeObject } from '../stacks/objects';
export { WeftError } from '../api/errors';

/** A cdk8s Chart as far as these helpers read it (structural, so any cdk8s copy fits). */
export interface ChartLike {
  toJson(): unknown[];
  readonly namespace?: string;
}

/** A cdk8s App as far as these helpers read it. */
export interface AppLike {
  readonly charts: readonly ChartLike[];
}

/** A mesh as a test holds it: a Chart, an App (all its charts), or already synthesized objects. */
export type MeshScope = ChartLike | AppLike | readonly unknown[];

const isApp = (s: unknown): s is AppLike => typeof s === 'object' && s !== null && Array.isArray((s as AppLike).charts);

/** Every object `cdk8s synth` would write for `scope`, in the order it writes them. */
function objectsOf(scope: MeshScope): unknown[] {
  if (Array.isArray(scope)) return [...scope];
  if (isApp(scope)) return scope.charts.flatMap((c) => c.toJson());
  return (scope as ChartLike).toJson();
}

/** The namespace unnamed services live in: the chart's, or the one namespace all of an App's charts share. */
function namespaceOf(scope: MeshScope | MeshModel): string | undefined {
  if (Array.isArray(scope) || typeof scope !== 'object' || scope === null) return undefined;
  if (isApp(scope)) {
    const names = new Set(scope.charts.map((c) => c.namespace));
    return names.size === 1 ? [...names][0] : undefined;
  }
  const ns = (scope as Partial<ChartLike>).namespace;
  return typeof ns === 'string' && ns !== '' ? ns : undefined;
}

const isModel = (s: unknown): s is MeshModel =>
  typeof s === 'object' && s !== null && 'mesh' in s && 'services' in s && 'policies' in s;

/**
 * Whether `query.from` may call `query.to`, decided by the same `authorize` the sidecar runs.
 * `from.namespace` and `to.namespace` default to the chart's namespace when it has one (else
 * `default`). Throws WEFT_ERR_MAY_CALL_UNKNOWN_SERVICE / _UNKNOWN_PORT for names not in the mesh.
 *
 * @example expect(mayCall(chart, { from: { service: 'web' }, to: { service: 'api' } }).allowed).toBe(true);
 */
export function mayCall(scope: MeshScope | MeshModel, query: MayCallQuery): MayCallDecision {
  const ns = namespaceOf(scope);
  const q: MayCallQuery = ns === undefined ? query : {
    ...query,
    from: query.from === 'unmeshed' ? 'unmeshed' : { ...query.from, namespace: query.from.namespace ?? ns },
    to: { ...query.to, namespace: query.to.namespace ?? ns },
  };
  return askMayCall(isModel(scope) ? scope : objectsOf(scope), q);
}

/** What {@link meshObjects} keeps besides the mesh's own objects. */
export interface MeshObjectsOptions {
  /**
   * Keep the weft CustomResourceDefinitions (they change with every weft release).
   * @default false
   */
  readonly includeCrds?: boolean;
  /**
   * Keep the control-plane install (its namespace, RBAC, Deployment, Service, PDB).
   * @default false
   */
  readonly includeControlPlane?: boolean;
}

/** The control plane's namespace as `Mesh` emits it (part of the install, not of your mesh). */
const isWeftNamespace = (o: KubeObject) => o.kind === 'Namespace' && o.metadata.labels?.['app.kubernetes.io/part-of'] === 'weft';

/**
 * The mesh's own objects for a snapshot: your services' Deployments, Services, ServiceAccounts,
 * bootstrap ConfigMaps and the weft custom resources (MeshConfig, MeshService, CanaryRoute,
 * MtlsPolicy) — without the CRDs and the control-plane install, which change with weft's version
 * rather than with your mesh.
 *
 * @example expect(meshObjects(chart)).toMatchSnapshot();
 */
export function meshObjects(scope: MeshScope, options: MeshObjectsOptions = {}): KubeObject[] {
  const objects = objectsOf(scope) as KubeObject[];
  return objects.filter((o) => {
    if (o.kind === 'CustomResourceDefinition') return options.includeCrds === true;
    if (isWeftControlPlane(o) || isWeftNamespace(o)) return options.includeControlPlane === true;
    return true;
  });
}

/** The mesh model the control plane would build from `scope` (services, routes, policies, mTLS modes). */
export function meshModel(scope: MeshScope): MeshModel {
  return meshModelOf(objectsOf(scope));
}
