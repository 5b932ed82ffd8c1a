/**
 * The proxy's ADS client (state of the world): wildcard LDS and CDS, then RDS and EDS by the names
 * they reference; ACK/NACK per the xDS spec with per-resource errors from the config parser (gRFC
 * A46: valid resources apply, rejected ones keep their last good version); reconnect with jittered
 * backoff while the proxy keeps serving its last config.
 */
import * as grpc from '@grpc/grpc-js';
import { type ConfigCell, type ProxyConfig, type ResourceType, nackMessage, parseXdsResources } from '../config';
import type { IdentityProvider } from '../identity/types';
import { controlPlaneCheck, probeXdsTrust, readTrustAnchor, XDS_ERRORS, XdsError, xdsChannelCredentials, type XdsTlsOptions } from './tls';
import { ADS_METHOD, type IncomingResponse, type OutgoingRequest, TYPE_OF, TYPE_URLS, adsChannel } from './wire';

/** What the node tells the control plane (self-registration included). */
export interface XdsNode {
  readonly id: string;
  readonly service: string;
  readonly namespace: string;
  readonly version: string;
  /** ServiceAccount the proxy runs as (`metadata.serviceAccount`: checked against its certificate by the control plane). @default not sent */
  readonly serviceAccount?: string;
  /** Address other sidecars reach this one on. */
  readonly address: string;
  /** Port name → port other sidecars dial (self-registration). */
  readonly ports: Readonly<Record<string, number>>;
}

/** Options of {@link XdsClient}. */
export interface XdsClientOptions {
  /** `host:port` of the ADS server. */
  readonly server: string;
  readonly node: XdsNode;
  /** Where accepted configs go. */
  readonly cell: ConfigCell;
  /** First reconnect delay. @default 500 */
  readonly initialBackoffMs?: number;
  /** Longest reconnect delay. @default 30000 */
  readonly maxBackoffMs?: number;
  /** Uniform [0, 1) source of the reconnect jitter (tests and `WEFT_RANDOM_SEED` fix it). @default Math.random */
  readonly random?: () => number;
  /** Called per processed response (metrics). */
  readonly onUpdate?: (type: ResourceType, result: 'ack' | 'nack', version: string, error?: string) => void;
  /** Log sink. @default silent */
  readonly log?: (level: 'info' | 'warn', msg: string) => void;
  /** TLS to the server (verified against the trust anchor and the control plane's SPIFFE ID). @default plaintext */
  readonly tls?: XdsTlsOptions;
  /** Workload certificate presented to the server over TLS (node authentication); the current one at each (re)connect. @default none */
  readonly identity?: IdentityProvider;
  /**
   * Over TLS with `identity`: a bound on the wait for the first certificate, after which the client
   * dials without one (a control plane that requires node authentication refuses that stream).
   * @default none (waits until the certificate comes, or stop())
   */
  readonly certificateWaitMs?: number;
}

/** Per-type subscription state. */
interface TypeState {
  names: string[];
  /** Last accepted version ('' before the first). */
  version: string;
  nonce: string;
  received: boolean;
  lastError?: string;
}

/** Status shown in /config_dump. */
export interface XdsStatus {
  readonly connected: boolean;
  readonly server: string;
  readonly versions: Readonly<Record<ResourceType, string>>;
  readonly lastErrors: Readonly<Partial<Record<ResourceType, string>>>;
  readonly reconnects: number;
  /** Whether the channel is TLS. */
  readonly tls: boolean;
  /** SPIFFE ID of the certificate presented on the current channel (TLS only). */
  readonly clientIdentity?: string;
  /** Over TLS with an identity source: nothing dialed yet, waiting for the first workload certificate. */
  readonly waitingForCertificate?: boolean;
  /** Why the last stream failed (coded: WEFT_ERR_XDS_UNTRUSTED, a server refusal's `weft-error`, ...). */
  readonly lastStreamError?: { readonly code: string; readonly message: string };
}

const ORDER: readonly ResourceType[] = ['listener', 'cluster', 'route', 'endpoint'];

/** The ADS client. */
export class XdsClient {
  readonly #opts: XdsClientOptions;
  readonly #state: Record<ResourceType, TypeState>;
  #client: grpc.Client | undefined;
  /** What the current channel was built from (anchor + client certificate); a change rebuilds it at the next (re)connect. */
  #clientKey = '';
  #clientIdentity: string | undefined;
  #lastStreamError: XdsError | undefined;
  /** Stops waiting for the first certificate (stop() before it came). */
  #unwait: (() => void) | undefined;
  #waitingForCertificate = false;
  #call: grpc.ClientDuplexStream<OutgoingRequest, IncomingResponse> | undefined;
  #stopped = false;
  #connected = false;
  #reconnects = 0;
  #backoff: number;
  #timer: NodeJS.Timeout | undefined;
  #readyResolve!: () => void;
  /** Resolves once LDS and CDS (and the RDS/EDS they name) have been received. */
  readonly ready: Promise<void>;

  constructor(opts: XdsClientOptions) {
    this.#opts = opts;
    this.#backoff = opts.initialBackoffMs ?? 500;
    const blank = (names: string[]): TypeState => ({ names, version: '', nonce: '', received: false });
    // LDS and CDS are wildcard subscriptions (Envoy's behaviour): an empty name list
    this.#state = { listener: blank([]), cluster: blank([]), route: blank([]), endpoint: blank([]) };
    this.ready = new Promise((resolve) => (this.#readyResolve = resolve));
  }

  /**
   * Opens the stream (and keeps reopening it until stop()). Over TLS with an identity source, the
   * first connection waits for the first certificate (unbounded unless `certificateWaitMs`), so the
   * control plane, which refuses unauthenticated streams, authenticates the node from its first request.
   */
  start(): void {
    const id = this.#opts.identity;
    if (!this.#opts.tls || !id || id.current()) return this.#open();
    let opened = false;
    const open = () => {
      if (opened || this.#stopped) return;
      opened = true;
      this.#waitingForCertificate = false;
      off();
      this.#unwait = undefined;
      clearTimeout(this.#timer);
      this.#open();
    };
    this.#waitingForCertificate = true;
    const off = id.onChange(() => { if (id.current()) open(); });
    this.#unwait = off;
    this.#opts.log?.('info', `xDS over TLS waits for the first workload certificate before dialing ${this.#opts.server}`);
    const bound = this.#opts.certificateWaitMs;
    if (bound === undefined) return;
    this.#timer = setTimeout(() => {
      this.#opts.log?.('warn', `no workload certificate after ${bound}ms: dialing xDS without one (a control plane requiring node authentication refuses it)`);
      open();
    }, bound);
    this.#timer.unref();
  }

  /** The channel for the next stream: rebuilt when the anchor (re-read) or the client certificate changed. */
  #channel(): grpc.Client {
    const tls = this.#opts.tls;
    if (!tls) return (this.#client ??= adsChannel(this.#opts.server));
    const anchor = readTrustAnchor(tls.trustAnchor);
    const cert = this.#opts.identity?.current();
    const key = `${anchor}\0${cert?.certChainPem ?? ''}`;
    if (this.#client && key === this.#clientKey) return this.#client;
    this.#client?.close();
    this.#clientKey = key;
    this.#clientIdentity = cert?.spiffeId;
    this.#client = adsChannel(this.#opts.server, xdsChannelCredentials(anchor, controlPlaneCheck(tls), cert), tls.channelOptions);
    return this.#client;
  }

  /** Current status. */
  status(): XdsStatus {
    const versions = Object.fromEntries(ORDER.map((t) => [t, this.#state[t].version])) as Record<ResourceType, string>;
    const lastErrors = Object.fromEntries(ORDER.filter((t) => this.#state[t].lastError).map((t) => [t, this.#state[t].lastError])) as Partial<Record<ResourceType, string>>;
    const e = this.#lastStreamError;
    return {
      connected: this.#connected, server: this.#opts.server, versions, lastErrors, reconnects: this.#reconnects, tls: !!this.#opts.tls,
      ...(this.#clientIdentity ? { clientIdentity: this.#clientIdentity } : {}),
      ...(this.#waitingForCertificate ? { waitingForCertificate: true } : {}),
      ...(e ? { lastStreamError: { code: e.code, message: e.message } } : {}),
    };
  }

  /** Why the last stream failed (coded), or undefined. */
  lastStreamError(): XdsError | undefined {
    return this.#lastStreamError;
  }

  #nodeProto(): Record<string, unknown> {
    const n = this.#opts.node;
    return {
      id: n.id,
      cluster: `${n.service}.${n.namespace}`,
      user_agent_name: 'weft-proxy',
      user_agent_version: '0.1.0',
      locality: {},
      metadata: {
        service: n.service, namespace: n.namespace, version: n.version, address: n.address, ports: { ...n.ports },
        ...(n.serviceAccount ? { serviceAccount: n.serviceAccount } : {}),
        // a proxy with no app ports (an ingress) serves nothing: it offers no endpoint to register
        ...(Object.keys(n.ports).length ? { endpoint: { address: n.address, ports: { ...n.ports } } } : {}),
      },
    };
  }

  #open(): void {
    if (this.#stopped) return;
    let client: grpc.Client;
    try {
      client = this.#channel();
    } catch (e) {
      // an unreadable anchor: nothing is dialed; retry with backoff (the file may appear)
      this.#fail(e as XdsError);
      this.#retry((e as Error).message);
      return;
    }
    const call = client.makeBidiStreamRequest(ADS_METHOD.path, ADS_METHOD.serialize, ADS_METHOD.deserialize);
    this.#call = call;
    let first = true;
    let answered = false;
    const send = (type: ResourceType, extra: Partial<OutgoingRequest> = {}): void => {
      const s = this.#state[type];
      const req: OutgoingRequest = {
        version_info: s.version, resource_names: s.names, type_url: TYPE_URLS[type], response_nonce: s.nonce, ...extra,
        ...(first ? { node: this.#nodeProto() } : {}),
      };
      first = false;
      call.write(req);
    };
    call.on('data', (resp: IncomingResponse) => {
      answered = true;
      if (!this.#connected) {
        this.#connected = true;
        this.#lastStreamError = undefined;
        this.#backoff = this.#opts.initialBackoffMs ?? 500;
      }
      this.#handle(resp, send);
    });
    const lost = (why: string): void => {
      if (this.#call !== call) return;
      this.#call = undefined;
      this.#connected = false;
      this.#retry(why);
    };
    call.on('error', (e: grpc.ServiceError) => {
      this.#classify(e, answered);
      lost(e.message);
    });
    call.on('end', () => lost('stream ended'));
    // every subscription is (re)sent on a new stream, with the versions we hold, nonce reset
    for (const t of ORDER) {
      if ((t === 'route' || t === 'endpoint') && this.#state[t].names.length === 0) continue;
      this.#state[t].nonce = '';
      send(t);
    }
  }

  /** Schedules the next stream with jittered backoff. */
  #retry(why: string): void {
    if (this.#stopped) return;
    this.#reconnects++;
    // full jitter in [backoff/2, backoff*1.5) so restarted proxies do not stampede the control plane
    const delay = Math.round(this.#backoff * (0.5 + (this.#opts.random ?? Math.random)()));
    this.#backoff = Math.min(this.#backoff * 2, this.#opts.maxBackoffMs ?? 30_000);
    this.#opts.log?.('warn', `ADS stream to ${this.#opts.server} lost (${why}); keeping the last config, retrying in ${delay}ms`);
    this.#timer = setTimeout(() => this.#open(), delay);
    this.#timer.unref();
  }

  #fail(e: XdsError): void {
    this.#lastStreamError = e;
    this.#opts.log?.('warn', `xDS: ${e.code}: ${e.message}`);
  }

  /** Codes a failed stream: the server's `weft-error`, else (TLS, nothing received) a trust probe, else unavailable. */
  #classify(e: grpc.ServiceError, answered: boolean): void {
    if (e.code === grpc.status.CANCELLED && this.#stopped) return;
    const coded = e.metadata?.get('weft-error')[0];
    if (typeof coded === 'string') return this.#fail(new XdsError(coded, e.details || e.message, { cause: e }));
    const unavailable = new XdsError(XDS_ERRORS.UNAVAILABLE, e.details || e.message, { cause: e });
    const tls = this.#opts.tls;
    if (!tls || answered || e.code !== grpc.status.UNAVAILABLE) return this.#fail(unavailable);
    let anchor: string;
    try {
      anchor = readTrustAnchor(tls.trustAnchor);
    } catch (err) {
      return this.#fail(err as XdsError);
    }
    void probeXdsTrust(this.#opts.server, anchor, controlPlaneCheck(tls), tls.channelOptions?.['grpc.ssl_target_name_override'] as string | undefined)
      .then((why) => { if (!this.#stopped) this.#fail(why ?? unavailable); }, () => this.#fail(unavailable));
  }

  #handle(resp: IncomingResponse, send: (type: ResourceType, extra?: Partial<OutgoingRequest>) => void): void {
    const type = TYPE_OF[resp.typeUrl];
    if (!type) return;
    const s = this.#state[type];
    const previous = this.#opts.cell.get();
    const version = this.#combinedVersion(type, resp.versionInfo);
    const { config, errors } = parseXdsResources({ [`${type}s`]: resp.resources }, previous, version);
    const problems = [...resp.decodeErrors, ...(errors.length ? [nackMessage(errors)] : [])];
    s.nonce = resp.nonce;
    s.received = true;
    if (problems.length === 0) {
      s.version = resp.versionInfo;
      s.lastError = undefined;
      this.#opts.cell.set(config);
      send(type);
      this.#opts.onUpdate?.(type, 'ack', resp.versionInfo);
    } else {
      // A46: apply the valid resources (rejected ones stay at their last good version), then NACK
      if (resp.decodeErrors.length === 0 || resp.resources.length > 0) this.#opts.cell.set({ ...config, version: previous.version } as ProxyConfig);
      const message = problems.join('\n');
      s.lastError = message;
      send(type, { error_detail: { code: 3, message } });
      this.#opts.onUpdate?.(type, 'nack', resp.versionInfo, message);
      this.#opts.log?.('warn', `NACK ${type} version ${resp.versionInfo}: ${message}`);
    }
    this.#resubscribe(send);
    this.#checkReady();
  }

  /** RDS names follow the listeners, EDS names follow the clusters. */
  #resubscribe(send: (type: ResourceType) => void): void {
    const cfg = this.#opts.cell.get();
    const routes = new Set<string>();
    for (const l of cfg.listeners.values()) for (const c of l.chains) if (!c.tcp && c.routeTable && !cfg.inlineRouteNames.has(c.routeTable)) routes.add(c.routeTable);
    const eds = new Set<string>();
    for (const c of cfg.clusters.values()) if (!c.staticEndpoints) eds.add(c.edsName);
    for (const [type, names] of [['route', routes], ['endpoint', eds]] as const) {
      const sorted = [...names].sort();
      const s = this.#state[type];
      if (sorted.join('\n') === s.names.join('\n')) continue;
      s.names = sorted;
      if (sorted.length === 0) s.received = false;
      send(type);
    }
  }

  #checkReady(): void {
    const st = this.#state;
    const ok = st.listener.received && st.cluster.received &&
      (st.route.names.length === 0 || st.route.received) && (st.endpoint.names.length === 0 || st.endpoint.received);
    if (ok) this.#readyResolve();
  }

  #combinedVersion(type: ResourceType, v: string): string {
    const vs = Object.fromEntries(ORDER.map((t) => [t, this.#state[t].version])) as Record<ResourceType, string>;
    vs[type] = v;
    return `lds=${vs.listener},rds=${vs.route},cds=${vs.cluster},eds=${vs.endpoint}`;
  }

  /** Closes the stream and stops reconnecting. */
  stop(): void {
    this.#stopped = true;
    this.#waitingForCertificate = false;
    this.#unwait?.();
    this.#unwait = undefined;
    if (this.#timer) clearTimeout(this.#timer);
    this.#call?.cancel();
    this.#call = undefined;
    this.#client?.close();
  }
}
