/**
 * `weft-mesh`: the construct library a cdk8s app imports (`Mesh`, `MeshService`, `CanaryRoute`,
 * `MtlsPolicy`, their props and enums, and the coded errors they throw).
 */
export * from '../constructs';
export { WeftError } from '../api/errors';
