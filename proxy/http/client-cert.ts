/**
 * `x-forwarded-client-cert` (XFCC) on inbound requests, as Envoy's forward_client_cert_details:
 * a client-sent value is never trusted (it is removed), and with `sanitize_set` (Istio's default)
 * the verified mTLS peer is written in its place. Engine-independent: pure header work on a Peer.
 */
import type { Headers, Layer, Peer } from '../stack/types';

/** The header name. */
export const XFCC_HEADER = 'x-forwarded-client-cert';

/** `sanitize_set`: remove, then set from the verified peer (Envoy SANITIZE_SET); `sanitize`: remove only (Envoy SANITIZE). */
export type ForwardClientCertMode = 'sanitize_set' | 'sanitize';

/**
 * The XFCC element for a verified peer (Envoy's format, `set_current_client_cert_details` with
 * URI): `By=<own SPIFFE ID>;Hash=<hex SHA-256 of the peer's DER certificate>;URI=<peer SPIFFE ID>`.
 * Undefined without a verified peer identity.
 */
export function xfccValue(peer: Peer, own: string | undefined): string | undefined {
  if (!peer.tls || !peer.identity) return undefined;
  const parts: string[] = [];
  if (own) parts.push(`By=${own}`);
  if (peer.certSha256) parts.push(`Hash=${peer.certSha256}`);
  parts.push(`URI=${peer.identity}`);
  return parts.join(';');
}

/** The request headers with the client's XFCC removed and, for `sanitize_set`, the verified one set. */
export function forwardClientCert(headers: Headers, peer: Peer, own: string | undefined, mode: ForwardClientCertMode): Headers {
  const value = mode === 'sanitize_set' ? xfccValue(peer, own) : undefined;
  if (headers[XFCC_HEADER] === undefined && value === undefined) return headers;
  const { [XFCC_HEADER]: _dropped, ...rest } = headers;
  void _dropped;
  return value === undefined ? rest : { ...rest, [XFCC_HEADER]: value };
}

/** The inbound layer: applies {@link forwardClientCert} before anything else reads the headers. */
export function clientCertLayer(mode: ForwardClientCertMode, own: () => string | undefined): Layer {
  return (next) => (req) => {
    const headers = forwardClientCert(req.headers, req.peer, own(), mode);
    return next(headers === req.headers ? req : { ...req, headers });
  };
}
