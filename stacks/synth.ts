/**
 * In-process `cdk8s synth`: the same App → Chart → toJson path the cdk8s CLI runs, returning the
 * objects instead of writing dist/*.yaml, so a Pulumi stack deploys exactly what synth would emit,
 * plus the dependencies the constructs declared (`node.addDependency`), which YAML cannot carry.
 */
import { ApiObject, App, Chart, ChartProps } from 'cdk8s';
import { IConstruct } from 'constructs';
import { KubeObject } from './objects';

/** Builds a mesh into a cdk8s chart, e.g. `(chart) => bookinfo(chart, props)`. */
export type MeshBuilder = (chart: Chart) => void;

/** A mesh to synthesize: the builder and the chart it is built into. */
export interface MeshSource {
  readonly build: MeshBuilder;
  /** Id of the chart; match your cdk8s app so generated names agree. */
  readonly chartId: string;
  /** Props of the chart (its namespace applies to objects that name none). @default {} */
  readonly chartProps?: ChartProps;
}

/** Which object a declared dependency names: as rendered (apiVersion, kind, namespace, name). */
export interface ObjectIdentity {
  readonly apiVersion: string;
  readonly kind: string;
  readonly name: string;
  readonly namespace?: string;
}

/** `dependent` must be created after `dependency` (a construct-level `addDependency`). */
export interface DeclaredDependency {
  readonly dependent: ObjectIdentity;
  readonly dependency: ObjectIdentity;
}

/** The result of {@link synthesizeMesh}. */
export interface SynthesizedMesh {
  /** Every chart's objects, in the order `cdk8s synth` writes them. */
  readonly objects: KubeObject[];
  /** Object-level dependencies the constructs declared. */
  readonly declared: DeclaredDependency[];
}

/**
 * Runs `build` in a fresh App and returns what `cdk8s synth` would write. Construct validation
 * (constructor, mutators, render) throws here, before anything is deployed.
 */
export function synthesizeMesh(source: MeshSource): SynthesizedMesh {
  // outdir is never written: toJson() renders in memory; App only records the path.
  const app = new App({ outdir: 'dist' });
  source.build(new Chart(app, source.chartId, source.chartProps ?? {}));
  // toJson() also resolves construct-level dependencies into ApiObject-level ones (cdk8s does
  // this before ordering), so after it each ApiObject's node.dependencies is explicit.
  const objects = app.charts.flatMap((chart) => chart.toJson() as KubeObject[]);
  return { objects, declared: declaredDependencies(app) };
}

function declaredDependencies(app: App): DeclaredDependency[] {
  const identities = new Map<string, ObjectIdentity>();
  const identity = (a: ApiObject): ObjectIdentity => {
    let id = identities.get(a.node.path);
    if (!id) {
      // Identity from the rendered object: patches (e.g. a removed namespace) count, as in the YAML.
      const o = a.toJson() as KubeObject;
      id = { apiVersion: o.apiVersion, kind: o.kind, name: o.metadata.name, ...(o.metadata.namespace !== undefined ? { namespace: o.metadata.namespace } : {}) };
      identities.set(a.node.path, id);
    }
    return id;
  };
  const out: DeclaredDependency[] = [];
  for (const c of app.node.findAll()) {
    if (!ApiObject.isApiObject(c)) continue;
    for (const dep of c.node.dependencies as IConstruct[]) {
      if (ApiObject.isApiObject(dep) && dep !== c) out.push({ dependent: identity(c), dependency: identity(dep) });
    }
  }
  return out;
}
