/** The sidecar proxy's entry point: everything other parts (the CLI) may use. */
export { proxyNodeId, runProxy } from './main';
export type { RunningProxy, RunProxyOptions } from './main';
