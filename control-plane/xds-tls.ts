/**
 * ADS over TLS (istiod's 15012): the same ADS handler on a grpc-js server with hot-swappable TLS
 * credentials, plus node authentication: a sidecar that presents its workload certificate may only
 * claim the namespace / service account (and service) that certificate names.
 */
import * as grpc from '@grpc/grpc-js';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { WeftError } from '../api/errors';
import { parseSpiffeId } from '../api/names';
import type { AdsServer } from './xds/ads-server';
import { ADS_SERVER_CHANNEL_OPTIONS } from './xds/ads-server';
import { ADS_SERVICE, WEFT_PROXY_USER_AGENT, type DiscoveryRequest } from './xds/wire';

/** Stable codes of the TLS ADS endpoint. */
export const XDS_TLS_ERRORS = {
  /** The node claims a namespace / service account / service its client certificate does not name. */
  NODE_IDENTITY_MISMATCH: 'WEFT_ERR_XDS_NODE_IDENTITY_MISMATCH',
  /** The serving certificate files (`--xds-tls-dir`) are missing or unusable. */
  BAD_SERVING_CERT: 'WEFT_ERR_XDS_BAD_SERVING_CERT',
} as const;

/** What node authentication needs to know about the mesh. */
export interface NodeAuthOptions {
  /** The mesh trust domain (a certificate of another one never authenticates a node). */
  readonly trustDomain: () => string;
  /** The ServiceAccount of `namespace/service`, when the mesh declares that service. @default none (service not checked) */
  readonly serviceAccountOf?: (namespace: string, service: string) => string | undefined;
  /** Called once per refused stream (logs, metrics). */
  readonly onRefused?: (code: string, message: string, fields: Record<string, unknown>) => void;
  /** Called once per stream whose node matched its certificate. */
  readonly onAuthenticated?: (nodeId: string, spiffeId: string) => void;
}

/** The SPIFFE ID (URI SAN) of a DER certificate, if exactly one. */
export function spiffeIdOfDer(der: Buffer): string | undefined {
  const san = new X509Certificate(der).subjectAltName ?? '';
  const uris = san.split(/,\s*/).filter((s) => s.startsWith('URI:spiffe://')).map((s) => s.slice(4));
  return uris.length === 1 ? uris[0] : undefined;
}

/**
 * Why `node` may not use a stream authenticated as `id`, or undefined when it may. Checked (as
 * istiod does): trust domain, namespace, `metadata.serviceAccount` when claimed, and for a weft
 * sidecar the ServiceAccount the mesh declares for the service it claims.
 */
export function nodeIdentityMismatch(node: NonNullable<DiscoveryRequest['node']>, id: string, o: Pick<NodeAuthOptions, 'trustDomain' | 'serviceAccountOf'>): string | undefined {
  const p = parseSpiffeId(id);
  if (!p) return `client certificate names ${id}, not a weft workload identity`;
  if (p.trustDomain !== o.trustDomain()) return `client certificate is from trust domain ${p.trustDomain}, not ${o.trustDomain()}`;
  const md = (node.metadata ?? {}) as Record<string, unknown>;
  const str = (v: unknown) => (typeof v === 'string' && v ? v : undefined);
  const ns = str(md.namespace);
  const sa = str(md.serviceAccount) ?? str(md.SERVICE_ACCOUNT);
  const service = str(md.service);
  const who = `node ${node.id ?? '?'} (certificate ${id})`;
  if (ns !== undefined && ns !== p.namespace) return `${who} claims namespace ${ns}`;
  if (ns === undefined && service !== undefined && p.namespace !== 'default') return `${who} claims service ${service} without a namespace (default)`;
  if (sa !== undefined && sa !== p.serviceAccount) return `${who} claims service account ${sa}`;
  if (node.user_agent_name === WEFT_PROXY_USER_AGENT && service !== undefined) {
    const declared = o.serviceAccountOf?.(ns ?? 'default', service);
    if (declared !== undefined && declared !== p.serviceAccount) return `${who} claims service ${ns ?? 'default'}/${service}, whose workloads run as ${declared}`;
  }
  return undefined;
}

/**
 * A server interceptor that checks the first DiscoveryRequest of each stream against the client
 * certificate (when one was presented and verified against the bundle). A mismatch ends the stream
 * with PERMISSION_DENIED and `weft-error` metadata before the ADS handler sees the request.
 */
export function nodeAuthInterceptor(o: NodeAuthOptions): grpc.ServerInterceptor {
  return (_method, call) => {
    let first = true;
    let refused = false;
    return new grpc.ServerInterceptingCall(call, {
      start: (next) => next(new grpc.ServerListenerBuilder().withOnReceiveMessage((msg: DiscoveryRequest, nextMsg) => {
        if (refused) return;
        if (first) {
          first = false;
          const der = call.getAuthContext().sslPeerCertificate?.raw;
          const id = der ? spiffeIdOfDer(der) : undefined;
          const why = der && msg.node ? (id ? nodeIdentityMismatch(msg.node, id, o) : 'client certificate carries no single SPIFFE ID') : undefined;
          if (why) {
            refused = true;
            const code = XDS_TLS_ERRORS.NODE_IDENTITY_MISMATCH;
            o.onRefused?.(code, why, { node: msg.node?.id, spiffeId: id });
            const metadata = new grpc.Metadata();
            metadata.set('weft-error', code);
            call.sendStatus({ code: grpc.status.PERMISSION_DENIED, details: `${code}: ${why}`, metadata });
            return;
          }
          if (id && msg.node) o.onAuthenticated?.(msg.node.id ?? '', id);
        }
        nextMsg(msg);
      }).build()),
    });
  };
}

/** A running TLS ADS listener. */
export interface TlsAdsListener {
  readonly port: number;
  close(graceMs?: number): Promise<void>;
}

/** Serves `ads` over TLS on `host:port` with `credentials` (whose certificates may change while serving). */
export async function serveAdsTls(ads: AdsServer, o: { host: string; port: number; credentials: grpc.ServerCredentials; nodeAuth: NodeAuthOptions }): Promise<TlsAdsListener> {
  const server = new grpc.Server({ ...ADS_SERVER_CHANNEL_OPTIONS, interceptors: [nodeAuthInterceptor(o.nodeAuth)] });
  server.addService(ADS_SERVICE, { StreamAggregatedResources: ads.handler });
  const target = o.host.includes(':') && !o.host.startsWith('[') ? `[${o.host}]:${o.port}` : `${o.host}:${o.port}`;
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(target, o.credentials, (err, p) => (err ? reject(new WeftError('WEFT_ERR_XDS_BIND', `cannot listen on ${target}: ${err.message}`, { cause: err })) : resolve(p))),
  );
  return {
    port,
    close: (graceMs = 1000) => new Promise<void>((resolve) => {
      const t = setTimeout(() => { server.forceShutdown(); resolve(); }, graceMs);
      server.tryShutdown(() => { clearTimeout(t); resolve(); });
    }),
  };
}

/** Serving certificate files in cert-manager's layout, re-read every `reloadMs`. */
export interface DirectoryCertificates {
  readonly credentials: grpc.ServerCredentials;
  /** Re-reads the files now; true when they changed. */
  reload(): boolean;
  close(): void;
}

/**
 * TLS credentials from `dir/tls.crt`, `dir/tls.key` and `dir/ca.crt` (the roots client certificates
 * must chain to), as `weft up` writes them for its control-plane child or cert-manager mounts them.
 * A change is picked up within `reloadMs` without a restart (grpc-js swaps the secure context for new
 * connections; open streams keep theirs). Unusable files at start throw; later they are reported and
 * the current certificate stays.
 */
export function directoryCertificates(dir: string, o: { reloadMs?: number; onError?: (e: WeftError) => void; onChange?: () => void } = {}): DirectoryCertificates {
  const read = () => {
    try {
      const cert = readFileSync(join(dir, 'tls.crt'));
      const key = readFileSync(join(dir, 'tls.key'));
      const ca = readFileSync(join(dir, 'ca.crt'));
      if (!new X509Certificate(cert).checkPrivateKey(createPrivateKey(key))) throw new Error('tls.key does not match tls.crt');
      return { cert, key, ca };
    } catch (e) {
      throw new WeftError(XDS_TLS_ERRORS.BAD_SERVING_CERT, `xDS serving certificate in ${dir}: ${(e as Error).message}`, { cause: e });
    }
  };
  let current = read();
  const identityListeners = new Set<grpc.experimental.IdentityCertificateUpdateListener>();
  const caListeners = new Set<grpc.experimental.CaCertificateUpdateListener>();
  const provider: grpc.experimental.CertificateProvider = {
    addCaCertificateListener: (l) => { caListeners.add(l); queueMicrotask(() => caListeners.has(l) && l({ caCertificate: current.ca })); },
    removeCaCertificateListener: (l) => { caListeners.delete(l); },
    addIdentityCertificateListener: (l) => { identityListeners.add(l); queueMicrotask(() => identityListeners.has(l) && l({ certificate: current.cert, privateKey: current.key })); },
    removeIdentityCertificateListener: (l) => { identityListeners.delete(l); },
  };
  const reload = (): boolean => {
    let next;
    try {
      next = read();
    } catch (e) {
      o.onError?.(e as WeftError);
      return false;
    }
    if (next.cert.equals(current.cert) && next.key.equals(current.key) && next.ca.equals(current.ca)) return false;
    current = next;
    for (const l of identityListeners) l({ certificate: current.cert, privateKey: current.key });
    for (const l of caListeners) l({ caCertificate: current.ca });
    o.onChange?.();
    return true;
  };
  const timer = setInterval(reload, o.reloadMs ?? 10_000);
  timer.unref();
  return {
    // request a client certificate (node authentication), never require one
    credentials: grpc.experimental.createCertificateProviderServerCredentials(provider, provider, false),
    reload,
    close: () => clearInterval(timer),
  };
}
