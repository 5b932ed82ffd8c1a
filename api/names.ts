/** Name rules shared by constructs, control plane and proxy: DNS-1123 and SPIFFE identities. */

/** A DNS-1123 label: lower-case alphanumerics and '-', 1–63 chars, alphanumeric at both ends. */
export const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** A DNS-1123 subdomain (dot-separated labels, ≤ 253 chars). */
export const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Whether `name` is a DNS-1123 label. */
export function isDnsLabel(name: string): boolean {
  return DNS1123_LABEL.test(name);
}

/** The SPIFFE ID of a workload: `spiffe://<trust-domain>/ns/<namespace>/sa/<service-account>`. */
export function spiffeId(trustDomain: string, namespace: string, serviceAccount: string): string {
  return `spiffe://${trustDomain}/ns/${namespace}/sa/${serviceAccount}`;
}

/** Parses a weft SPIFFE ID; undefined when `id` is not of that shape. */
export function parseSpiffeId(id: string): { trustDomain: string; namespace: string; serviceAccount: string } | undefined {
  const m = /^spiffe:\/\/([^/]+)\/ns\/([^/]+)\/sa\/([^/]+)$/.exec(id);
  return m ? { trustDomain: m[1], namespace: m[2], serviceAccount: m[3] } : undefined;
}

/** The cluster (backend) name of a service version: `<service>.<namespace>|<version>`, or the whole service. */
export function clusterName(service: string, namespace: string, version?: string): string {
  return version ? `${service}.${namespace}|${version}` : `${service}.${namespace}`;
}
