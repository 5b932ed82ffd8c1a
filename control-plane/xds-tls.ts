/**
 * ADS over TLS (istiod's 15012): the same ADS handler on a grpc-js server with hot-swappable TLS
 * credentials, plus node authentication (istiod's XDS_AUTH): a stream without a verified client
 * certificate is refused unless explicitly allowed, a node may only claim the namespace / service
 * account (and service) its certificate names, and a node id held by one identity is not taken over.
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
  /** The stream presented no client certificate verified against the mesh roots (`--xds-allow-unauthenticated` not set). */
  UNAUTHENTICATED: 'WEFT_ERR_XDS_UNAUTHENTICATED',
  /** The node id is held by an open stream of another identity (a self-registered endpoint is not taken over). */
  NODE_ID_TAKEN: 'WEFT_ERR_XDS_NODE_ID_TAKEN',
  /** The serving certificate files (`--xds-tls-dir`) are missing or unusable. */
  BAD_SERVING_CERT: 'WEFT_ERR_XDS_BAD_SERVING_CERT',
} as const;

/** What node authentication needs to know about the mesh. */
export interface NodeAuthOptions {
  /** The mesh trust domain (a certificate of another one never authenticates a node). */
  readonly trustDomain: () => string;
  /** The ServiceAccount of `namespace/service`, when the mesh declares that service. @default none (service not checked) */
  readonly serviceAccountOf?: (namespace: string, service: string) => string | undefined;
  /**
   * Serve streams without a verified client certificate (migration aid, `--xds-allow-unauthenticated`):
   * such a node is trusted on its word. @default false (refused with WEFT_ERR_XDS_UNAUTHENTICATED)
   */
  readonly allowUnauthenticated?: boolean;
  /** Called once per refused stream (logs, metrics). */
  readonly onRefused?: (code: string, message: string, fields: Record<string, unknown>) => void;
  /** Called once per stream whose node matched its certificate. */
  readonly onAuthenticated?: (nodeId: string, spiffeId: string) => void;
  /** Called once per stream served without a client certificate (only with `allowUnauthenticated`). */
  readonly onUnauthenticated?: (nodeId: string) => void;
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
 * Which identity holds each node id on open streams: a node id names a self-registered endpoint
 * (the local source), so a stream of another identity must not take it over while it is held.
 * Streams of the same identity share it (a reconnect may overlap the old stream).
 */
export class NodeIdBindings {
  readonly #held = new Map<string, { identity: string; refs: number }>();

  /** Binds `nodeId` to `identity` (`''` = unauthenticated); the holder's identity when another one holds it. */
  claim(nodeId: string, identity: string): { release: () => void } | { heldBy: string } {
    const cur = this.#held.get(nodeId);
    if (cur && cur.identity !== identity) return { heldBy: cur.identity || 'an unauthenticated stream' };
    if (cur) cur.refs++;
    else this.#held.set(nodeId, { identity, refs: 1 });
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        const b = this.#held.get(nodeId)!;
        if (--b.refs === 0) this.#held.delete(nodeId);
      },
    };
  }

  /** The identity holding `nodeId`, if any. */
  holder(nodeId: string): string | undefined {
    return this.#held.get(nodeId)?.identity;
  }
}

/** Why the first request of a stream is refused (code + message), or undefined when it is served. */
function refusal(msg: DiscoveryRequest, der: Buffer | undefined, id: string | undefined, o: NodeAuthOptions): { code: string; why: string } | undefined {
  if (!der) {
    if (o.allowUnauthenticated) return undefined;
    return { code: XDS_TLS_ERRORS.UNAUTHENTICATED, why: `node ${msg.node?.id ?? '?'} presented no client certificate verified by the mesh roots (present the workload certificate, or run with --xds-allow-unauthenticated while migrating)` };
  }
  if (!msg.node) return undefined;
  const why = id ? nodeIdentityMismatch(msg.node, id, o) : 'client certificate carries no single SPIFFE ID';
  return why ? { code: XDS_TLS_ERRORS.NODE_IDENTITY_MISMATCH, why } : undefined;
}

/**
 * A server interceptor that checks the first DiscoveryRequest of each stream against the client
 * certificate. grpc-js exposes the peer certificate only when it verified against the roots, so
 * "no certificate" covers absent and unverified ones alike. The check sits here, not in the TLS
 * handshake, because the credentials are shared with the CA endpoint, whose first call has no
 * certificate yet. A refusal ends the stream with PERMISSION_DENIED and `weft-error` metadata
 * before the ADS handler sees the request; the node id stays bound to the identity until the
 * stream ends.
 */
export function nodeAuthInterceptor(o: NodeAuthOptions, bindings = new NodeIdBindings()): grpc.ServerInterceptor {
  return (_method, call) => {
    let first = true;
    let refused = false;
    let release: (() => void) | undefined;
    const refuse = (code: string, why: string, fields: Record<string, unknown>) => {
      refused = true;
      o.onRefused?.(code, why, fields);
      const metadata = new grpc.Metadata();
      metadata.set('weft-error', code);
      call.sendStatus({ code: grpc.status.PERMISSION_DENIED, details: `${code}: ${why}`, metadata });
    };
    return new grpc.ServerInterceptingCall(call, {
      start: (next) => next(new grpc.ServerListenerBuilder().withOnReceiveMessage((msg: DiscoveryRequest, nextMsg) => {
        if (refused) return;
        if (first) {
          first = false;
          const der = call.getAuthContext().sslPeerCertificate?.raw;
          const id = der ? spiffeIdOfDer(der) : undefined;
          const r = refusal(msg, der, id, o);
          if (r) return refuse(r.code, r.why, { node: msg.node?.id, spiffeId: id });
          const nodeId = msg.node?.id;
          if (nodeId) {
            const claim = bindings.claim(nodeId, id ?? '');
            if ('heldBy' in claim) return refuse(XDS_TLS_ERRORS.NODE_ID_TAKEN, `node id ${nodeId} is held by ${claim.heldBy}, not ${id ?? 'an unauthenticated stream'}`, { node: nodeId, spiffeId: id });
            release = claim.release;
          }
          if (id && msg.node) o.onAuthenticated?.(nodeId ?? '', id);
          else if (!id) o.onUnauthenticated?.(nodeId ?? '');
        }
        nextMsg(msg);
      }).withOnCancel(() => release?.()).build()),
      sendStatus: (status, next) => {
        release?.();
        next(status);
      },
    });
  };
}

/** A running TLS ADS listener. */
export interface TlsAdsListener {
  readonly port: number;
  close(graceMs?: number): Promise<void>;
}

/** Serves `ads` over TLS on `host:port` with `credentials` (whose certificates may change while serving). */
export async function serveAdsTls(ads: AdsServer, o: { host: string; port: number; credentials: grpc.ServerCredentials; nodeAuth: NodeAuthOptions; bindings?: NodeIdBindings }): Promise<TlsAdsListener> {
  const server = new grpc.Server({ ...ADS_SERVER_CHANNEL_OPTIONS, interceptors: [nodeAuthInterceptor(o.nodeAuth, o.bindings)] });
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
    // request a client certificate; the interceptor refuses streams without a verified one (unless allowed)
    credentials: grpc.experimental.createCertificateProviderServerCredentials(provider, provider, false),
    reload,
    close: () => clearInterval(timer),
  };
}
