/**
 * Endpoints that do not come from Kubernetes: sidecars registering over ADS, and a static JSON file
 * for proxyless tests. One validator for both, since grpc-js-xds NACKs anything but IP literals.
 */
import { isIP } from 'node:net';
import { DNS1123_LABEL } from '../../api/names';
import type { EndpointModel } from '../../api/model';
import { SourceError, SOURCE_ERROR_CODES } from './errors';
import { DEFAULT_VERSION } from './k8s-endpoints';

/**
 * What a connecting node tells about itself; structurally the ADS server's `ConnectedNode`
 * (node id, `node.metadata` service/namespace/version and `metadata.endpoint` = where it listens).
 */
export interface NodeRegistration {
  /** Node id (unique per proxy); becomes the endpoint's `instance`. */
  readonly id: string;
  /** `proxyless` clients consume config but are not endpoints. @default 'sidecar' */
  readonly kind?: 'sidecar' | 'proxyless';
  readonly service?: string;
  /** @default 'default' */
  readonly namespace?: string;
  /** @default 'default' */
  readonly version?: string;
  /** IP literal and inbound port by service port name; nodes without it do not register. */
  readonly endpoint?: { readonly address: string; readonly ports: Readonly<Record<string, number>> };
}

/** Endpoint of a self-registering sidecar (meshed, ready); undefined for nodes that serve nothing. */
export function endpointOfNode(node: NodeRegistration): EndpointModel | undefined {
  if (node.kind === 'proxyless' || !node.service || !node.endpoint) return undefined;
  return checkEndpoint(
    { service: node.service, namespace: node.namespace ?? 'default', version: node.version ?? DEFAULT_VERSION, address: node.endpoint.address, ports: node.endpoint.ports, ready: true, instance: node.id, meshed: true },
    `node ${node.id}`,
    SOURCE_ERROR_CODES.register,
  );
}

/**
 * Validates one endpoint (raw JSON allowed): `ready` defaults to true, `meshed` to false,
 * `instance` to `address:port`. Throws `code` naming `where` and the field.
 */
export function checkEndpoint(raw: unknown, where: string, code: typeof SOURCE_ERROR_CODES.register | typeof SOURCE_ERROR_CODES.endpoints = SOURCE_ERROR_CODES.register): EndpointModel {
  const fail = (msg: string): never => {
    throw new SourceError(code, `${where}: ${msg}`);
  };
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return fail('an endpoint must be an object');
  const e = raw as Record<string, unknown>;
  for (const f of ['service', 'namespace', 'version'] as const) {
    if (typeof e[f] !== 'string' || !DNS1123_LABEL.test(e[f] as string)) fail(`${f} ${JSON.stringify(e[f])} is not a DNS-1123 label`);
  }
  if (typeof e.address !== 'string' || isIP(e.address) === 0) fail(`address ${JSON.stringify(e.address)} is not an IP literal (grpc-js-xds rejects host names)`);
  if (e.address === '0.0.0.0' || e.address === '::') fail(`address ${e.address} is the unspecified address; register the address peers can reach`);
  if (typeof e.ports !== 'object' || e.ports === null || Array.isArray(e.ports) || Object.keys(e.ports).length === 0) fail('ports must map at least one port name to a port number');
  const ports: Record<string, number> = {};
  for (const [name, port] of Object.entries(e.ports as Record<string, unknown>)) {
    if (!Number.isInteger(port) || (port as number) < 1 || (port as number) > 65535) fail(`ports.${name}: ${JSON.stringify(port)} is not a port number`);
    ports[name] = port as number;
  }
  if (e.ready !== undefined && typeof e.ready !== 'boolean') fail('ready must be a boolean');
  if (e.meshed !== undefined && typeof e.meshed !== 'boolean') fail('meshed must be a boolean');
  if (e.instance !== undefined && (typeof e.instance !== 'string' || e.instance === '')) fail('instance must be a non-empty string');
  const first = Object.values(ports)[0];
  return {
    service: e.service as string,
    namespace: e.namespace as string,
    version: e.version as string,
    address: e.address as string,
    ports,
    ready: (e.ready as boolean | undefined) ?? true,
    instance: (e.instance as string | undefined) ?? `${e.address as string}:${first}`,
    meshed: (e.meshed as boolean | undefined) ?? false,
  };
}

/** Parses a static endpoints file: a JSON array of endpoints. */
export function parseEndpointsFile(text: string, file: string): EndpointModel[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new SourceError(SOURCE_ERROR_CODES.endpoints, `${file}: not JSON: ${(e as Error).message}`);
  }
  if (!Array.isArray(value)) throw new SourceError(SOURCE_ERROR_CODES.endpoints, `${file}: must be a JSON array of endpoints`);
  return value.map((v, i) => checkEndpoint(v, `${file}[${i}]`, SOURCE_ERROR_CODES.endpoints));
}
