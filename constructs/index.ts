/** The weft construct library: Mesh, MeshService, CanaryRoute, MtlsPolicy and their value types. */
export * from './values';
export * from './errors';
export type { RetryOptions } from './checks';
export * from './traffic';
export * from './mesh';
export * from './observability';
export * from './mesh-service';
export * from './route-options';
export * from './canary-route';
export * from './mtls-policy';
export { CONTROL_PLANE_PORTS } from './control-plane';
export { PROXY_UID, TOKEN_AUDIENCE, BOOTSTRAP_PATH, iptablesRules } from './workload';
export { collectResources } from './mesh-check';
export { clusterScoped } from './custom-resource';
export * from './export';
export { meshCheck } from './mesh-check';
export type { MeshWarning, MeshCheckResult } from './mesh-check';
export type { ContainerResources, ProbeOptions, AppProbes, SidecarOptions, ProxyLogLevel } from './container-options';
