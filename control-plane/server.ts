/**
 * The control plane's run-time wiring: a MeshSource's snapshots → buildModel → per-node translate
 * (inside the snapshot cache) → ADS, with verdicts written back through the source. Stateless apart
 * from the current snapshot, so several replicas can serve at once with no leader.
 */
import * as http from 'http';
import { Registry } from 'prom-client';
import type { MeshModel } from '../api/model';
import type { ResourceStatus } from '../api/status';
import { LastGoodModel, rejectionsOf } from './last-good';
import { RejectionReporter } from './rejection-report';
import { AdsServer } from './xds/ads-server';
import { Renderer, SnapshotCache } from './xds/cache';
import type { AdsStatus } from './xds/status';
import type { ConnectedNode } from './xds/wire';
import type { MeshSource, SourceSnapshot } from './sources/types';
import { STATUS_FORBIDDEN, statusAllowed } from './status-access';

/** Options of startControlPlane(). */
export interface ControlPlaneOptions {
  readonly source: MeshSource;
  /** ADS port; 0 picks a free one. @default 15010 */
  readonly port?: number;
  /** ADS bind address. @default "127.0.0.1" */
  readonly host?: string;
  /** Registry for metrics. @default a new Registry */
  readonly metricsRegistry?: Registry;
  /** HTTP port for GET /status, /metrics, /ready, /live; no HTTP server when undefined. @default undefined */
  readonly statusPort?: number;
  /** HTTP bind address. @default the ADS host */
  readonly statusHost?: string;
  /** Bearer token that lets a non-loopback caller read `/status` (loopback callers always may). @default none: loopback only */
  readonly statusToken?: () => string | undefined;
  /** Identifier put in every DiscoveryResponse. @default "weft-control-plane" */
  readonly controlPlaneId?: string;
  /** Response size budget. @default 4 MiB − 64 KiB */
  readonly maxResponseBytes?: number;
  /** Response bytes being written at once over all streams (see AdsServerOptions). @default 8 MiB */
  readonly maxBytesInFlight?: number;
  readonly onNodeConnected?: (node: ConnectedNode) => void;
  readonly onNodeDisconnected?: (node: ConnectedNode) => void;
  /** Log sink (`fields` carry e.g. the `code` of a rejection). @default silent */
  readonly log?: (level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;
  /** Model → resources per client; a seam for tests and experiments. @default translate */
  readonly render?: Renderer;
  /** Bind the (plaintext) ADS port; false leaves serving to the caller (`ads.handler` on a TLS server of its own). @default true */
  readonly listen?: boolean;
}

/** A running control plane. */
export interface ControlPlane {
  /** Bound ADS port (0 when `listen: false`). */
  readonly port: number;
  /** Bound HTTP status port, when one was asked for. */
  readonly statusPort?: number;
  readonly status: AdsStatus;
  readonly ads: AdsServer;
  readonly metricsRegistry: Registry;
  /** Verdicts of the last model build. */
  statuses(): readonly ResourceStatus[];
  /** The model being served (after last-good substitution); undefined before the first snapshot. */
  model(): MeshModel | undefined;
  /** Whether a first snapshot has been built (readiness). */
  ready(): boolean;
  stop(): Promise<void>;
}

/** A source that can turn connected sidecars into endpoints (the local source does). */
interface AttachableSource {
  attach(events: { onNodeConnected(cb: (n: ConnectedNode) => void): void; onNodeDisconnected(cb: (n: ConnectedNode) => void): void }): void;
}

function statusServer(cp: () => ControlPlane, registry: Registry, token?: () => string | undefined): http.Server {
  return http.createServer((req, res) => {
    const send = (code: number, type: string, body: string) => { res.writeHead(code, { 'content-type': type }); res.end(body); };
    const url = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET') return send(405, 'text/plain', 'method not allowed\n');
    if (url === '/live') return send(200, 'text/plain', 'ok\n');
    if (url === '/ready') return cp().ready() ? send(200, 'text/plain', 'ready\n') : send(503, 'text/plain', 'no snapshot yet\n');
    if (url === '/status' && !statusAllowed(req, token)) {
      return send(403, 'text/plain', `${STATUS_FORBIDDEN}: /status answers loopback callers (kubectl port-forward) or a bearer token (--status-token-file)\n`);
    }
    if (url === '/status') return send(200, 'application/json', JSON.stringify({ ...cp().status.toJSON(), resources: cp().statuses(), rejected: rejectionsOf(cp().statuses()) }, null, 2));
    if (url === '/metrics') {
      registry.metrics().then((m) => send(200, registry.contentType, m), (e) => send(500, 'text/plain', String(e)));
      return undefined;
    }
    return send(404, 'text/plain', 'not found\n');
  });
}

/** Starts the ADS server (and the HTTP status server), then the source. */
export async function startControlPlane(opts: ControlPlaneOptions): Promise<ControlPlane> {
  const log = opts.log ?? (() => undefined);
  const registry = opts.metricsRegistry ?? new Registry();
  const cache = new SnapshotCache(opts.render);
  const ads = new AdsServer({
    cache, metricsRegistry: registry, log, controlPlaneId: opts.controlPlaneId, maxResponseBytes: opts.maxResponseBytes,
    maxBytesInFlight: opts.maxBytesInFlight, onNodeConnected: opts.onNodeConnected, onNodeDisconnected: opts.onNodeDisconnected,
  });
  if (typeof (opts.source as Partial<AttachableSource>).attach === 'function') (opts.source as unknown as AttachableSource).attach(ads);
  const port = opts.listen === false ? 0 : await ads.listen(opts.port ?? 15010, opts.host ?? '127.0.0.1');
  let statuses: readonly ResourceStatus[] = [];
  let model: MeshModel | undefined;
  let lastReported = '';
  let httpServer: http.Server | undefined;
  let statusPort: number | undefined;
  const cp: ControlPlane = {
    port,
    get statusPort() { return statusPort; },
    status: ads.status,
    ads,
    metricsRegistry: registry,
    statuses: () => statuses,
    model: () => model,
    ready: () => cache.hasModel(),
    async stop() {
      await opts.source.stop().catch((e) => log('error', `source stop: ${(e as Error).message}`));
      await ads.close();
      if (httpServer) {
        const s = httpServer;
        httpServer = undefined;
        s.closeAllConnections();
        await new Promise<void>((r) => s.close(() => r()));
      }
    },
  };
  if (opts.statusPort !== undefined) {
    httpServer = statusServer(() => cp, registry, opts.statusToken);
    const s = httpServer;
    statusPort = await new Promise<number>((resolve, reject) => {
      s.once('error', reject);
      s.listen(opts.statusPort, opts.statusHost ?? opts.host ?? '127.0.0.1', () => resolve((s.address() as { port: number }).port));
    });
  }
  // Every source's snapshots go through the last-good stage: a rejected resource keeps its last
  // accepted version, a policy never accepted denies (docs/control-plane-sources.md, *Rejected resources*).
  const lastGood = new LastGoodModel();
  const rejections = new RejectionReporter(registry, log);
  const onSnapshot = (snap: SourceSnapshot) => {
    try {
      const built = lastGood.build(snap.resources, snap.endpoints, snap.lastAccepted);
      rejections.report(built.statuses);
      statuses = built.statuses;
      model = built.model;
      cache.setModel(built.model);
      const body = JSON.stringify(built.statuses);
      if (body !== lastReported && opts.source.reportStatus) {
        lastReported = body;
        opts.source.reportStatus(built.statuses).catch((e) => log('error', `reportStatus: ${(e as Error).message}`));
      }
    } catch (e) {
      log('error', `model build failed, keeping the last snapshot: ${(e as Error).message}`);
    }
  };
  try {
    await opts.source.start(onSnapshot);
  } catch (e) {
    await cp.stop();
    throw e;
  }
  return cp;
}
