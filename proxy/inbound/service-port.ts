/**
 * Which service port an inbound request is for. Several service ports share the sidecar's one inbound
 * port, so the caller's sidecar names the service port in a `weft-port` header (the control plane adds
 * it on every outbound virtual host, overwriting what the app sent); the inbound side reads it, drops
 * it before the app sees it, and picks the filter chain and the authz port from it.
 */
import { SERVICE_PORT_HEADER } from '../../api/xds/util';
import type { Headers, Layer, ProxyRequest } from '../stack/types';

export { SERVICE_PORT_HEADER };

/** Meta key holding the service port read from `weft-port` (a number). */
export const SERVICE_PORT_FACT = 'weft.servicePort';

/** The service port `req` named (from the `weft-port` header, already read by `servicePort`). */
export function requestServicePort(req: ProxyRequest): number | undefined {
  const v = req.meta.get(SERVICE_PORT_FACT);
  return typeof v === 'number' ? v : undefined;
}

/** Parses a `weft-port` value: a decimal port 1..65535, else undefined (ignored: chain selection falls back). */
export function parseServicePort(value: string | string[] | undefined): number | undefined {
  if (typeof value !== 'string' || !/^[0-9]{1,5}$/.test(value)) return undefined;
  const n = Number(value);
  return n >= 1 && n <= 65535 ? n : undefined;
}

/** Reads and strips `weft-port`: the app never sees it, the layers below see `weft.servicePort`. */
export const servicePort: Layer = (next) => (req) => {
  if (!(SERVICE_PORT_HEADER in req.headers)) return next(req);
  const { [SERVICE_PORT_HEADER]: value, ...headers } = req.headers;
  const port = parseServicePort(value);
  if (port !== undefined) req.meta.set(SERVICE_PORT_FACT, port);
  return next({ ...req, headers: headers as Headers });
};
