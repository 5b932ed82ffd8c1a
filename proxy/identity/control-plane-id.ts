/**
 * Who the control plane is, for the two endpoints a proxy dials before it trusts anything else
 * (the CA and the xDS server): one rule, so the two checks cannot drift apart.
 */
import { checkServerIdentity, type PeerCertificate } from 'node:tls';

/** ServiceAccount of the control plane: its serving certificate names `…/sa/weft-control-plane`. */
export const CONTROL_PLANE_ACCOUNT = 'weft-control-plane';

/** Whose certificate the control plane's endpoints must present. */
export interface ControlPlaneIdentityOptions {
  readonly trustDomain: string;
  /** The exact SPIFFE ID (bootstrap `controlPlane.xdsIdentity`). @default any `spiffe://<trustDomain>/ns/<ns>/sa/weft-control-plane` */
  readonly expectedIdentity?: string;
}

/** The SPIFFE IDs among a certificate's URI SANs. */
export function spiffeIdsOf(cert: PeerCertificate): string[] {
  return (cert.subjectaltname ?? '').split(/,\s*/).filter((s) => s.startsWith('URI:spiffe://')).map((s) => s.slice(4));
}

/** Whether `id` is the control plane's SPIFFE ID as `o` expects it. */
export function isControlPlaneIdentity(id: string, o: ControlPlaneIdentityOptions): boolean {
  if (o.expectedIdentity) return id === o.expectedIdentity;
  const m = /^spiffe:\/\/([^/]+)\/ns\/[^/]+\/sa\/([^/]+)$/.exec(id);
  return !!m && m[1] === o.trustDomain && m[2] === CONTROL_PLANE_ACCOUNT;
}

/**
 * checkServerIdentity for a control-plane endpoint: the name dialed (DNS or IP SAN), then exactly
 * one SPIFFE ID, the control plane's. `wrong` builds the caller's coded error from what was
 * presented and what was expected.
 */
export function controlPlaneServerCheck(
  o: ControlPlaneIdentityOptions,
  wrong: (presented: string, expected: string) => Error,
): (host: string, cert: PeerCertificate) => Error | undefined {
  return (host, cert) => {
    const byName = checkServerIdentity(host, cert);
    if (byName) return byName;
    const ids = spiffeIdsOf(cert);
    if (ids.length === 1 && isControlPlaneIdentity(ids[0], o)) return undefined;
    return wrong(ids.join(', ') || 'no SPIFFE ID', o.expectedIdentity ?? `spiffe://${o.trustDomain}/ns/*/sa/${CONTROL_PLANE_ACCOUNT}`);
  };
}
