/** The sidecar proxy's entry point: everything other parts (the CLI) may use. */
export { proxyNodeId, runProxy } from './main';
export type { RunningProxy, RunProxyOptions } from './main';
// what `weft up`'s ingress reuses: the sidecar's own listener and HTTP/1.1 client (cli/up/ingress.ts)
export { H1Endpoint } from './http/client-h1';
export { XFCC_HEADER } from './http/client-cert';
export { ProxyServer } from './http/server';
export type { HttpLimits } from './http/limits';
export type { Handler, Headers } from './stack/types';
