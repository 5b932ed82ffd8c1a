/** The proxy's typed config: parse xDS once at the boundary, hand layers immutable values. */
export * from './types';
export { ConfigCell, applyXds, type ConfigCellOptions } from './cell';
export { INBOUND_PREFIX, appPortOf, remapAppPorts } from './app-ports';
export { parseXds, parseXdsResources, parseStaticResources, emptyConfig, nackMessage } from './parse';
export type { XdsResources, ResourceError, ResourceType, ParseResult } from './parse';
export { DEFAULT_CIRCUIT_BREAKERS, DEFAULT_RETRY_BUDGET, DEFAULT_EWMA_DECAY_MS, DEFAULT_RING_SIZE } from './parse-cluster';
