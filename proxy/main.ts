/**
 * The sidecar process: bootstrap → identity, config (static resources and/or the ADS client),
 * the outbound and inbound stacks behind their listeners, the admin server, and a graceful drain.
 * Ready only once config (and, when required, identity) is loaded.
 */
import { Registry } from 'prom-client';
import type { Bootstrap } from '../api/bootstrap';
import { parseDuration } from '../api/duration';
import { authorize as evaluate } from '../api/authz';
import type { PolicyModel } from '../api/model';
import { ConfigCell, appPortOf, parseStaticResources, remapAppPorts } from './config';
import type { ListenerConfig } from './config/types';
import { buildOutboundHandler } from './outbound/stack';
import { buildInboundHandler, inboundChain, inboundListener } from './inbound/stack';
import { OutboundTcpListeners } from './listeners/tcp';
import { inboundTcpHandler } from './listeners/inbound-tcp';
import { tcpAuthorizer } from './listeners/tcp-authz';
import type { Authorize } from './layers/authz';
import { ProxyServer } from './http/server';
import { OverloadManager, overloadOptionsFromEnv } from './http/overload';
import { randomFromEnv } from '../api/random';
import { createLog } from '../api/log';
import { type HttpLimits, limitsFromBootstrap } from './http/limits';
import { DEFAULT_SIDECAR_PROTOCOL, EndpointClients } from './transport/endpoints';
import { TlsContexts } from './transport/tls';
import { staticIdentity } from './identity/static';
import { caClientFromBootstrap } from './identity/ca-client';
import type { IdentityProvider } from './identity/types';
import { AdminServer, isLoopbackAddress } from './admin/server';
import { proxyMetrics, setConfigVersion } from './admin/metrics';
import { XdsClient } from './xds/client';
import { OtlpHttpExporter, tracing } from './observability/tracing';
import { accessLog, accessLogger } from './observability/access-log';
import { compose, type Handler, type Layer } from './stack/types';
import { boundConfigView, type BoundAddresses } from './admin/bound-view';

/** Options beyond the bootstrap (CLI flags, tests). */
export interface RunProxyOptions {
  /** Protocol between sidecars. @default DEFAULT_SIDECAR_PROTOCOL (the one measured faster, see docs/proxy.md) */
  readonly sidecarProtocol?: 'http1' | 'http2';
  /** Hardening overrides for both listeners. @default DEFAULT_LIMITS */
  readonly limits?: Partial<HttpLimits>;
  /** Log sink for lifecycle messages. @default pino JSON lines on stderr (api/log.ts) */
  readonly log?: (level: 'info' | 'warn' | 'error', msg: string) => void;
  /**
   * Environment read for `POD_NAME` (the node id, see `proxyNodeId`), `WEFT_RANDOM_SEED` (seeds every
   * random choice, api/random.ts) and `WEFT_OVERLOAD_MAX_EVENT_LOOP_DELAY_MS` (load-shedding threshold,
   * proxy/http/overload.ts; tests raise it out of reach). @default process.env
   */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/**
 * The proxy's node id at the control plane: `POD_NAME` when set and non-empty (the constructs set it
 * from the downward API, since every replica of a version shares one bootstrap ConfigMap whose
 * `node.id` is `<svc>-<version>`), else the bootstrap's `node.id` (`weft up` writes a per-replica one).
 */
export function proxyNodeId(b: Bootstrap, env: Readonly<Record<string, string | undefined>> = process.env): string {
  const pod = env.POD_NAME?.trim();
  return pod ? pod : b.node.id;
}

/** A running sidecar. */
export interface RunningProxy {
  readonly ports: { readonly inbound: number; readonly outbound: number; readonly admin: number };
  readonly registry: Registry;
  readonly cell: ConfigCell;
  /** Undefined when ready, else why not. */
  notReadyReason(): string | undefined;
  /** Graceful drain then close; resolves when everything is closed. Idempotent. */
  shutdown(): Promise<void>;
  /** Resolves after shutdown completes (for `weft proxy` to exit). */
  readonly closed: Promise<void>;
}

/** Authorization from the inbound listener's weft metadata (`{defaultPolicy, rules}`), via api/authz. */
function authorizer(b: Bootstrap): Authorize {
  const policies = new WeakMap<object, PolicyModel[]>();
  return (req, listener?: ListenerConfig) => {
    const a = listener?.authz;
    if (!a) return { allowed: true, action: 'default_allow' };
    let p = policies.get(a);
    if (!p) {
      p = [{ service: b.node.service, namespace: b.node.namespace, rules: a.rules }];
      policies.set(a, p);
    }
    // policy ports are service ports (as api/may-call.ts evaluates them): the port of the chain serving the request
    const chain = inboundChain(listener, req);
    const port = chain?.servicePort ?? chain?.destinationPort ?? 0;
    const d = evaluate(p, { principal: req.peer.identity, port, path: req.path, method: req.method }, { defaultInboundPolicy: a.defaultPolicy });
    return { allowed: d.allowed, policy: d.policy, action: d.reason, reason: d.reason, audited: d.audited, port, detail: d.detail };
  };
}

/** Starts a sidecar from a parsed bootstrap. */
export async function runProxy(b: Bootstrap, opts: RunProxyOptions = {}): Promise<RunningProxy> {
  const env = opts.env ?? process.env;
  const log = opts.log ?? createLog('weft-proxy', env);
  const nodeId = proxyNodeId(b, opts.env);
  const random = randomFromEnv(env);
  const registry = new Registry();
  const metrics = proxyMetrics(registry);
  const cleanups: (() => unknown)[] = [];

  // --- identity ---
  let identity: IdentityProvider | undefined;
  if (b.identity.staticDir) identity = staticIdentity(b.identity.staticDir);
  else if (b.controlPlane && b.identity.tokenPath) {
    const ca = caClientFromBootstrap(b, { random, onError: (e) => log('warn', `certificate request failed: ${e.code}: ${e.message}`) });
    (ca as unknown as { start(): void }).start();
    cleanups.push(() => (ca as unknown as { close(): void }).close());
    identity = ca;
  }
  const tls = identity ? new TlsContexts(identity) : undefined;
  const recordCert = (): void => {
    const m = identity?.current();
    if (m) metrics.certExpiry.set({ identity: m.spiffeId }, m.notAfter.getTime() / 1000);
  };
  recordCert();
  if (identity) cleanups.push(identity.onChange(recordCert));

  // --- config ---
  // inbound|<port name> → 127.0.0.1:ports.app[<port name>], not the service's targetPort (several replicas may share a host)
  const cell = new ConfigCell(undefined, { transform: (c) => remapAppPorts(c, b.ports.app) });
  cell.onChange((next) => setConfigVersion(metrics, next.version));
  let configLoaded = false;
  if (b.staticResources) {
    cell.set(parseStaticResources(b.staticResources));
    configLoaded = true;
  }
  const bindInbound = b.bindAddress ?? '0.0.0.0';
  const bindLocal = b.bindAddress ?? '127.0.0.1';
  const bindAdmin = b.adminBindAddress ?? bindLocal;
  let xds: XdsClient | undefined;

  // --- stacks ---
  const clients = new EndpointClients({ tls, sidecarProtocol: opts.sidecarProtocol ?? DEFAULT_SIDECAR_PROTOCOL });
  cleanups.push(() => clients.close());
  const self = { service: b.node.service, version: b.node.version };
  const outboundStack = buildOutboundHandler(cell, { endpointClient: clients.endpointClient, metrics: registry, random, node: self });
  const inboundStack = buildInboundHandler(cell, { endpointClient: clients.endpointClient, metrics: registry, random, authorize: authorizer(b), authzLog: log, node: self,
    forwardClientCert: { mode: b.http?.forwardClientCert ?? 'sanitize_set', identity: () => identity?.current()?.spiffeId },
  });
  cleanups.push(() => outboundStack.close(), () => inboundStack.close());
  const logger = b.accessLog ? accessLogger() : undefined;
  const exporter = b.tracing?.otlpEndpoint ? new OtlpHttpExporter(b.tracing.otlpEndpoint, `${b.node.service}.${b.node.namespace}`, 256, 1000, {
    protocol: b.tracing.protocol, onDrop: (n) => metrics.spansDropped.inc(n), onExport: (n) => metrics.spansExported.inc(n),
    resource: { 'service.namespace': b.node.namespace, 'service.version': b.node.version, 'service.instance.id': b.node.id },
  }) : undefined;
  if (exporter) cleanups.push(() => exporter.close());
  const observed = (h: Handler, direction: 'inbound' | 'outbound'): Handler => {
    const layers: Layer[] = [];
    if (b.tracing) layers.push(tracing({ sampleRate: b.tracing.sampleRate, direction, exporter, random }));
    if (logger) layers.push(accessLog(logger, direction));
    return layers.length ? compose(...layers)(h) : h;
  };

  // --- listeners ---
  // the bootstrap's Envoy-named `http` options, then code overrides (tests, CLI)
  const limits: Partial<HttpLimits> = { ...limitsFromBootstrap(b.http), ...opts.limits };
  const overload = new OverloadManager(overloadOptionsFromEnv(env));
  cleanups.push(() => overload.close());
  const countConnections = (listener: string) => (socket: import('node:net').Socket): void => {
    metrics.openConnections.inc({ listener });
    metrics.connectionsTotal.inc({ listener });
    socket.once('close', () => metrics.openConnections.dec({ listener }));
  };
  const outbound = new ProxyServer({ handler: observed(outboundStack, 'outbound'), limits, overload, onConnection: countConnections('outbound') });
  const inbound = new ProxyServer({
    handler: observed(inboundStack, 'inbound'), limits, overload, onConnection: countConnections('inbound'),
    // STRICT when identity is required (plaintext refused); otherwise PERMISSIVE (mTLS or plaintext)
    tls: tls ? { options: () => tls.serverOptions(), permissive: !b.identity.required } : undefined,
    // opaque TCP from another sidecar goes to the app port (ports.app by chain name, else its destination port) of the TCP chain its SNI names (proxy/listeners/inbound-tcp.ts)
    // and is authorized per connection by the caller's certificate and that chain's service port (proxy/listeners/tcp-authz.ts)
    onTcp: inboundTcpHandler({
      listener: () => inboundListener(cell.get()),
      appPort: (chain) => appPortOf(chain.name, b.ports.app) ?? chain.destinationPort,
      authorize: tcpAuthorizer({ node: b.node, registry, log }),
      onConnection: () => metrics.connectionsTotal.inc({ listener: 'inbound-tcp' }),
      count: (direction, n) => metrics.tcpBytes.inc({ listener: 'inbound-tcp', direction }, n),
    }),
  });
  const outboundPort = (await outbound.listen(b.ports.outbound, bindLocal)).port;
  const inboundPort = (await inbound.listen(b.ports.inbound, bindInbound)).port;
  const tcpListeners = new OutboundTcpListeners({
    cell, tls, host: bindLocal, log, random,
    count: (listener) => (direction, n) => metrics.tcpBytes.inc({ listener, direction }, n),
  });
  await tcpListeners.reconcile();
  // the ADS client starts once the inbound port is bound: it registers that port
  if (b.controlPlane) {
    const address = bindInbound === '0.0.0.0' ? '127.0.0.1' : bindInbound;
    // TLS to xDS whenever the bootstrap has a trust anchor (the CA's), unless it says the server is plaintext;
    // the workload certificate, once there, is presented so the control plane can authenticate the node
    const anchor = b.identity.caTrustAnchorFile || b.identity.caTrustAnchorPem ? { file: b.identity.caTrustAnchorFile, pem: b.identity.caTrustAnchorPem } : undefined;
    const xdsTls = anchor && !b.controlPlane.xdsPlaintext ? { trustAnchor: anchor, trustDomain: b.identity.trustDomain, expectedIdentity: b.controlPlane.xdsIdentity } : undefined;
    xds = new XdsClient({
      server: b.controlPlane.xds, cell, tls: xdsTls, identity, random,
      // self-registration: every app port is reached through the inbound listener
      node: { id: nodeId, service: b.node.service, namespace: b.node.namespace, version: b.node.version, serviceAccount: b.node.serviceAccount, address, ports: Object.fromEntries(Object.keys(b.ports.app).map((name) => [name, inboundPort])) },
      onUpdate: (type, result, version, error) => {
        metrics.xdsUpdates.inc({ type, result });
        if (error) log('warn', `xDS ${type} ${version} rejected: ${error}`);
      },
      log: (level, msg) => log(level, msg),
    });
    cleanups.push(() => xds?.stop());
  }


  let boundAddresses = (): BoundAddresses => ({ inbound: `${bindInbound}:${inboundPort}`, outbound: `${bindLocal}:${outboundPort}`, admin: `${bindAdmin}:${b.ports.admin}` });
  let draining = false;
  const notReadyReason = (): string | undefined => {
    if (!configLoaded) return 'no config yet';
    if (b.identity.required && !identity) return 'no certificate source (set identity.staticDir, or identity.tokenPath with a control plane)';
    if (b.identity.required && !identity?.current()) return 'no certificate yet';
    return undefined;
  };
  let shutdownPromise: Promise<void> | undefined;
  let resolveClosed!: () => void;
  const closed = new Promise<void>((r) => (resolveClosed = r));
  const admin = new AdminServer({
    registry,
    notReadyReason,
    draining: () => draining,
    configDump: () => ({
      node: { ...b.node, id: nodeId }, version: cell.get().version, xds: xds?.status(),
      identity: identity?.current() ? { spiffeId: identity.current()!.spiffeId, notAfter: identity.current()!.notAfter } : undefined,
      // the addresses bound (weft up: loopback ports), not the pod ports the config names
      bound: boundAddresses(),
      config: boundConfigView(cell.get(), boundAddresses()),
    }),
    shutdown: () => void shutdown(),
    // reachable beyond loopback (kubelet probes, Prometheus): the config and the off switch stay local
    sensitiveAllowed: isLoopbackAddress(bindAdmin) ? undefined : isLoopbackAddress,
  });
  const adminPort = (await admin.listen(b.ports.admin, bindAdmin)).port;
  boundAddresses = () => ({ inbound: `${bindInbound}:${inboundPort}`, outbound: `${bindLocal}:${outboundPort}`, admin: `${bindAdmin}:${adminPort}` });

  const drainMs = b.drainTimeout ? parseDuration(b.drainTimeout, 'drainTimeout') : 5000;
  const shutdown = (): Promise<void> => {
    shutdownPromise ??= (async () => {
      draining = true;
      log('info', `draining (up to ${drainMs}ms)`);
      await Promise.all([outbound.drain(drainMs), inbound.drain(drainMs), tcpListeners.drain(drainMs)]);
      for (const c of cleanups.reverse()) {
        try {
          await c();
        } catch {
          /* keep closing the rest */
        }
      }
      await admin.close();
      log('info', 'stopped');
      resolveClosed();
    })();
    return shutdownPromise;
  };

  if (xds) {
    xds.start();
    void xds.ready.then(() => {
      configLoaded = true;
      log('info', `config loaded: ${cell.get().version}`);
    });
  }
  log('info', `listening: outbound ${bindLocal}:${outboundPort}, inbound ${bindInbound}:${inboundPort}, admin ${bindAdmin}:${adminPort}`);
  return { ports: { inbound: inboundPort, outbound: outboundPort, admin: adminPort }, registry, cell, notReadyReason, shutdown, closed };
}
