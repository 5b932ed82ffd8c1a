/**
 * The standard workload labels of the request metrics (`source_service`, `source_version`,
 * `destination_service`, `destination_version`), with bounded cardinality: the outbound side reads
 * the destination from the picked cluster's name (control-plane made), the inbound side reads the
 * source from the `weft-source` header the calling sidecar adds, trusted only from an mTLS peer,
 * and both are parsed once and cached in bounded maps.
 */
import { parseSpiffeId } from '../../api/names';

/** Header each sidecar adds to outbound requests: `<service>/<version>` of the calling workload. */
export const SOURCE_HEADER = 'weft-source';
/** Label value when a side is not known (plaintext caller, no route). */
export const UNKNOWN = 'unknown';
/** Distinct sources (and clusters) remembered; beyond that, new ones are labelled `other`. */
export const MAX_PEERS = 256;

/** The service and version of one side of a request. */
export interface Workload { readonly service: string; readonly version: string }

const LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const UNKNOWN_WORKLOAD: Workload = Object.freeze({ service: UNKNOWN, version: UNKNOWN });
const OTHER: Workload = Object.freeze({ service: 'other', version: 'other' });

/** A bounded memo: a parse per distinct key, at most MAX_PEERS keys (then `overflow`). */
class BoundedMemo {
  readonly #map = new Map<string, Workload>();
  constructor(private readonly parse: (key: string) => Workload) {}
  get(key: string): Workload {
    const hit = this.#map.get(key);
    if (hit) return hit;
    if (this.#map.size >= MAX_PEERS) return OTHER;
    const w = Object.freeze(this.parse(key));
    this.#map.set(key, w);
    return w;
  }
}

/** `<service>.<namespace>|<version>[:<port>]` (api/names.ts clusterName) → service and version. */
const clusters = new BoundedMemo((name) => {
  const m = /^([^.|]+)\.[^|]+(?:\|([^:]+))?/.exec(name);
  return m ? { service: m[1], version: m[2] ?? UNKNOWN } : { service: name.split(/[.|:]/)[0] || UNKNOWN, version: UNKNOWN };
});

/** Destination of an outbound request from the cluster it went to. */
export function destinationOf(cluster: string | undefined): Workload {
  return cluster ? clusters.get(cluster) : UNKNOWN_WORKLOAD;
}

/** Distinct `weft-source` values remembered per calling identity (its versions); then `other`. */
export const MAX_SOURCES_PER_ACCOUNT = 16;

/**
 * Per calling service account, the workloads its `weft-source` values named. Keyed by the
 * certificate's account first, so one caller can only use up its own budget, never the labels of
 * other callers; malformed values are not remembered. The header is an authenticated peer's claim
 * and feeds labels only — authorization reads the certificate, never this header.
 */
const sources = new Map<string, Map<string, Workload>>();

function sourceFor(account: string, header: string | undefined): Workload {
  const fallback = account ? { service: account, version: UNKNOWN } : UNKNOWN_WORKLOAD;
  let seen = sources.get(account);
  if (!seen) {
    if (sources.size >= MAX_PEERS) return OTHER;
    seen = new Map();
    sources.set(account, seen);
  }
  const key = header ?? '';
  const hit = seen.get(key);
  if (hit) return hit;
  const parts = key.split('/');
  const [service, version] = parts;
  if (parts.length !== 2 || !LABEL.test(service ?? '') || !LABEL.test(version ?? '')) return fallback;
  if (seen.size >= MAX_SOURCES_PER_ACCOUNT) return { service: account || OTHER.service, version: OTHER.version };
  const w = Object.freeze({ service, version });
  seen.set(key, w);
  return w;
}

/**
 * Source of an inbound request: the `weft-source` header of an mTLS peer, else the peer's service
 * account (version unknown); a plaintext caller is `unknown` whatever it sends.
 */
export function sourceOf(header: string | string[] | undefined, identity: string | undefined): Workload {
  if (!identity) return UNKNOWN_WORKLOAD;
  const account = parseSpiffeId(identity)?.serviceAccount ?? '';
  return sourceFor(account, Array.isArray(header) ? header[0] : header);
}

/** The `weft-source` value of a workload. */
export function sourceHeader(w: Workload): string {
  return `${w.service}/${w.version}`;
}
