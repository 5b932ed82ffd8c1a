/**
 * Per-port mTLS modes. The TLS handshake happens before the proxy knows which service port a
 * connection is for (all ports share one inbound port), so the transport is STRICT only when every
 * port is (bootstrap `identity.required`); otherwise it accepts both, and this layer refuses a
 * plaintext request to a chain whose `mtlsMode` is STRICT.
 */
import type { FilterChainConfig } from '../config/types';
import { DeniedError } from '../http/errors';
import type { Layer, ProxyRequest } from '../stack/types';

/** The policy name a plaintext request to a STRICT port is denied by (in `weft-error`). */
export const STRICT_MTLS_POLICY = 'mtls-strict';

/** Denies (403 / PERMISSION_DENIED) plaintext requests whose chain is STRICT; mTLS and PERMISSIVE/DISABLE pass. */
export function mtlsMode(chainFor: (req: ProxyRequest) => FilterChainConfig | undefined): Layer {
  return (next) => (req) => {
    if (!req.peer.tls && chainFor(req)?.mtlsMode === 'STRICT') return Promise.reject(new DeniedError(STRICT_MTLS_POLICY, undefined));
    return next(req);
  };
}
