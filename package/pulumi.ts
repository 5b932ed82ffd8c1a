/**
 * `weft-mesh/pulumi`: the `WeftMesh` component (`weft:index:Mesh`) that deploys a construct-built
 * mesh through @pulumi/kubernetes. Needs the optional peers @pulumi/pulumi and @pulumi/kubernetes.
 */
export { WeftMesh, resourceName } from '../stacks/component';
export type { WeftMeshArgs } from '../stacks/component';
export { synthesizeMesh } from '../stacks/synth';
export type { MeshBuilder, MeshSource, SynthesizedMesh, DeclaredDependency, ObjectIdentity } from '../stacks/synth';
export { planObjects, isWeftControlPlane, CONTROL_PLANE_NAME } from '../stacks/plan';
export type { PlanStep, PlanOptions } from '../stacks/plan';
export type { KubeObject } from '../stacks/objects';
export { STACK_ERRORS, WeftStackError } from '../stacks/errors';
