/**
 * `WeftMesh` (type `weft:index:Mesh`): a construct-built mesh deployed through @pulumi/kubernetes.
 * It synthesizes the mesh in-process, plans the creation order, then registers one typed child
 * per object with explicit `dependsOn`, so `pulumi up` needs no cdk8s CLI and no retries.
 */
import * as pulumi from '@pulumi/pulumi';
import * as k8s from '@pulumi/kubernetes';
import { ChartProps } from 'cdk8s';
import { MESHED_ANNOTATION } from '../api/mesh-rules';
import { API_VERSION } from '../api/resources';
import { STACK_ERRORS, WeftStackError } from './errors';
import { createResource } from './kinds';
import { KubeObject } from './objects';
import { PlanStep, planObjects, isWeftControlPlane } from './plan';
import { MeshBuilder, MeshSource, synthesizeMesh } from './synth';

/** Arguments of {@link WeftMesh}. */
export interface WeftMeshArgs {
  /**
   * Builds the mesh into a cdk8s chart: your own constructs (`new Mesh(chart, ...)`, `new MeshService(...)`),
   * usually the same function your cdk8s `main.ts` calls.
   */
  readonly build: MeshBuilder;
  /**
   * Id of the cdk8s chart the mesh is built into; use your cdk8s app's so generated names agree.
   * @default 'weft'
   */
  readonly chartId?: string;
  /**
   * Props of that chart (its `namespace` applies to objects that name none).
   * @default {}
   */
  readonly chartProps?: ChartProps;
  /**
   * Recognizes the control plane's objects (they are created before every workload).
   * @default - {@link isWeftControlPlane}: what the `Mesh` construct emits, or the component label
   */
  readonly isControlPlane?: (o: KubeObject) => boolean;
}

/** Port names the control plane's Service may give its xDS/CA gRPC port, in preference order. */
const CONTROL_PLANE_PORT_NAMES = ['grpc-xds', 'xds', 'grpc'];

/** The Pulumi name of a step's resource: `<component>-<namespace>/<name>` (v1 ConfigGroup's scheme). */
export function resourceName(component: string, step: PlanStep): string {
  const m = step.object.metadata;
  return step.clusterScoped || !m.namespace ? `${component}-${m.name}` : `${component}-${m.namespace}/${m.name}`;
}

/** The whole mesh (CRDs, control plane, custom resources, workloads) as one Pulumi component. */
export class WeftMesh extends pulumi.ComponentResource {
  /** The component's type token. */
  public static readonly TYPE = 'weft:index:Mesh';

  /** Creation plan: every synthesized object with its direct dependencies, in creation order. */
  public readonly plan: readonly PlanStep[];
  /** The child resources by plan id (`group/Kind:namespace/name`). */
  public readonly resources: ReadonlyMap<string, pulumi.CustomResource>;
  /** `<service>.<namespace>.svc:<port>` of the control plane's xDS/CA endpoint; undefined when the mesh has none. */
  public readonly controlPlaneAddress: pulumi.Output<string | undefined>;
  /** The meshed services (`MeshService` resources with a sidecar) as `namespace/name`, sorted. */
  public readonly meshedServices: pulumi.Output<string[]>;

  constructor(name: string, args: WeftMeshArgs, opts?: pulumi.ComponentResourceOptions) {
    // Synthesize and plan before registering anything: an invalid mesh fails with the constructs'
    // coded error while the stack is still empty, not halfway through an update.
    const { objects, declared } = synthesizeMesh(meshSource(args));
    const plan = planObjects(objects, { isControlPlane: args.isControlPlane, declared });
    super(WeftMesh.TYPE, name, {}, opts);
    this.plan = plan;

    const resources = new Map<string, pulumi.CustomResource>();
    for (const step of plan) {
      const dependsOn = step.dependsOn.map((id) => resources.get(id)!);
      resources.set(step.id, createResource(resourceName(name, step), step.object, { parent: this, dependsOn }));
    }
    this.resources = resources;
    this.controlPlaneAddress = controlPlaneAddress(plan, resources);
    this.meshedServices = meshedServices(plan, resources);
    this.registerOutputs({ controlPlaneAddress: this.controlPlaneAddress, meshedServices: this.meshedServices });
  }
}

/** What to synthesize: the caller's builder into a chart named as the caller's cdk8s app names it. */
function meshSource(args: WeftMeshArgs): MeshSource {
  if (typeof args?.build !== 'function') {
    throw new WeftStackError(STACK_ERRORS.NO_BUILD, `WeftMesh args.build must be a function that builds your mesh into a chart (got ${typeof args?.build}); e.g. { build: (chart) => myMesh(chart) }`);
  }
  return { build: args.build, chartId: args.chartId ?? 'weft', chartProps: args.chartProps ?? {} };
}

type Metadata = pulumi.Output<k8s.types.output.meta.v1.ObjectMeta>;

function controlPlaneAddress(plan: readonly PlanStep[], resources: Map<string, pulumi.CustomResource>): pulumi.Output<string | undefined> {
  const step = plan.find((s) => s.role === 'control-plane' && s.object.kind === 'Service' && s.object.apiVersion === 'v1');
  if (!step) return pulumi.output(undefined);
  const ports = ((step.object.spec as { ports?: { name?: string; port: number }[] } | undefined)?.ports ?? []);
  const port = CONTROL_PLANE_PORT_NAMES.map((n) => ports.find((p) => p.name === n)).find(Boolean) ?? ports[0];
  const metadata = (resources.get(step.id) as unknown as { metadata: Metadata }).metadata;
  // Read name/namespace back from the resource, so the output waits for the Service to exist.
  return metadata.apply((m) => `${m.name}.${m.namespace ?? step.object.metadata.namespace ?? 'default'}.svc${port ? `:${port.port}` : ''}`);
}

function meshedServices(plan: readonly PlanStep[], resources: Map<string, pulumi.CustomResource>): pulumi.Output<string[]> {
  // A MeshService annotated `weft.dev/meshed: "false"` models a workload outside the mesh.
  const steps = plan.filter((s) => s.object.apiVersion === API_VERSION && s.object.kind === 'MeshService' &&
    s.object.metadata.annotations?.[MESHED_ANNOTATION] !== 'false');
  const metas = steps.map((s) => (resources.get(s.id) as unknown as { metadata: Metadata }).metadata);
  return pulumi.all(metas).apply((ms) => ms.map((m, i) => `${m.namespace ?? steps[i].object.metadata.namespace ?? ''}/${m.name}`).sort());
}
