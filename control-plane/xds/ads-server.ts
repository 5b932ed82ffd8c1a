/**
 * The ADS server: `envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources`
 * (state of the world) over gRPC, rendering per node from the snapshot cache, with a NACK ledger,
 * Prometheus metrics and a status API that `weft proxy-status` and the HTTP status endpoint read.
 */
import * as grpc from '@grpc/grpc-js';
import type { Registry } from 'prom-client';
import { WeftError } from '../../api/errors';
import { AdsStream } from './ads-stream';
import type { SnapshotCache } from './cache';
import { NackLedger } from './ledger';
import { AdsMetrics } from './metrics';
import { AdsStatus, ClientStatus } from './status';
import { SendBudget, StreamWriter } from './send-queue';
import type { PlannedChunk } from './plan';
import { ADS_SERVICE, ConnectedNode, DiscoveryRequest, encodeResponseHead, identifyNode, OutgoingResponse } from './wire';

/** Options of the ADS server. */
export interface AdsServerOptions {
  readonly cache: SnapshotCache;
  /** Registry the metrics go to. @default a new private Registry */
  readonly metricsRegistry?: Registry;
  /** Response size budget; grpc-js clients drop the stream above 4 MiB. @default 4 MiB − 64 KiB */
  readonly maxResponseBytes?: number;
  /**
   * Response bytes being written at once, over all streams (backpressure: the rest wait, queued as
   * references to shared response bytes). One response always goes when nothing else is in flight;
   * a write not completed within 1 s (a peer not reading) stops counting. Smaller budgets measured
   * less GC than 32 MiB with no slower pushes at 1,000 clients (docs/control-plane.md, Scale).
   * @default 8 MiB
   */
  readonly maxBytesInFlight?: number;
  /** `control_plane.identifier` in every response. @default "weft-control-plane" */
  readonly controlPlaneId?: string;
  /** Called once per stream, on its first request (self-registration: see ConnectedNode.endpoint). */
  readonly onNodeConnected?: (node: ConnectedNode) => void;
  /** Called when that stream ends, for whatever reason. */
  readonly onNodeDisconnected?: (node: ConnectedNode) => void;
  /** Log sink. @default silent */
  readonly log?: (level: 'info' | 'warn' | 'error', msg: string) => void;
}

/** Server keepalive: detects dead clients so their nodes are disconnected (and deregistered). */
export const ADS_SERVER_CHANNEL_OPTIONS: grpc.ChannelOptions = {
  'grpc.keepalive_time_ms': 30_000,
  'grpc.keepalive_timeout_ms': 10_000,
  'grpc.max_receive_message_length': 4 * 1024 * 1024,
  'grpc.max_send_message_length': 16 * 1024 * 1024,
};

type AdsCall = grpc.ServerDuplexStream<DiscoveryRequest, OutgoingResponse>;

/** Ends a server stream with a status (grpc-js: an 'error' event carrying code and details). */
function failStream(call: AdsCall, code: grpc.status, details: string): void {
  call.emit('error', Object.assign(new Error(details), { code, details }));
}

/** An ADS server bound to a snapshot cache. */
export class AdsServer {
  readonly ledger = new NackLedger();
  readonly metrics: AdsMetrics;
  readonly status: AdsStatus;
  private readonly streams = new Map<number, { stream: AdsStream; call: AdsCall }>();
  private readonly budget: SendBudget;
  /** Server-wide nonce counter: a stream's nonces per type only ever grow, so they never repeat. */
  private nonceCounter = 0;
  /** The whole response of a shared plan chunk, with the nonce it was built with. */
  private readonly messages = new WeakMap<PlannedChunk, { nonce: number; version: string; bytes: Buffer }>();
  private nextId = 1;
  private server: grpc.Server | undefined;
  private readonly unsubscribe: () => void;
  private readonly log: NonNullable<AdsServerOptions['log']>;
  private readonly connectedCbs = new Set<(node: ConnectedNode) => void>();
  private readonly disconnectedCbs = new Set<(node: ConnectedNode) => void>();

  constructor(private readonly opts: AdsServerOptions) {
    this.metrics = new AdsMetrics(opts.metricsRegistry, this.ledger);
    this.log = opts.log ?? (() => undefined);
    this.budget = new SendBudget(opts.maxBytesInFlight ?? 8 * 1024 * 1024, 1000);
    if (opts.onNodeConnected) this.connectedCbs.add(opts.onNodeConnected);
    if (opts.onNodeDisconnected) this.disconnectedCbs.add(opts.onNodeDisconnected);
    this.status = new AdsStatus(
      () => this.clientStatuses(),
      (nodeId) => [...this.streams.values()].filter(({ stream }) => nodeId === undefined || stream.node?.id === nodeId).flatMap(({ stream }) => stream.ledgerEntries()),
      this.ledger,
      opts.cache,
    );
    this.unsubscribe = opts.cache.onChange(() => {
      for (const { stream } of this.streams.values()) this.guard(stream, () => stream.pushAll());
    });
  }

  /** Adds a listener for nodes connecting (the `NodeEvents` shape the local source attaches to). */
  onNodeConnected(cb: (node: ConnectedNode) => void): void {
    this.connectedCbs.add(cb);
  }

  /** Adds a listener for nodes whose stream ended. */
  onNodeDisconnected(cb: (node: ConnectedNode) => void): void {
    this.disconnectedCbs.add(cb);
  }

  /** Nodes with an open stream. */
  connectedNodes(): ConnectedNode[] {
    return [...this.streams.values()].map((s) => s.stream.node).filter((n): n is ConnectedNode => n !== undefined);
  }

  private emit(cbs: Set<(node: ConnectedNode) => void>, node: ConnectedNode, what: string): void {
    for (const cb of [...cbs]) {
      try { cb(node); } catch (e) { this.log('error', `${what}: ${(e as Error).message}`); }
    }
  }

  private guard(stream: AdsStream, fn: () => void): void {
    try {
      fn();
    } catch (e) {
      this.log('error', `stream ${stream.id}: ${(e as Error).message}`);
      const call = this.streams.get(stream.id)?.call;
      if (call) failStream(call, grpc.status.INTERNAL, (e as Error).message);
    }
  }

  private clientStatuses(): ClientStatus[] {
    return [...this.streams.values()].filter(({ stream }) => stream.node).map(({ stream }) => ({
      node: stream.node!,
      types: Object.fromEntries([...stream.types].map(([t, s]) => [t, {
        subscribed: s.wildcard ? '*' as const : [...s.names].sort(),
        sentVersion: s.sent?.version,
        sentNonce: s.sent?.nonce,
        ackedVersion: s.ackedVersion,
        pending: s.sent !== undefined && !s.sent.answered,
        lastError: s.lastError,
      }])),
    }));
  }

  /**
   * The encoded response carrying `chunk`. A shared chunk's response (head included) is built once and
   * reused by every stream whose last nonce of that type is older than the one it carries; otherwise
   * a new nonce (and buffer) is drawn, so no stream ever sees a nonce twice.
   */
  private respond(typeUrl: string, version: string, chunk: PlannedChunk, after: number, shared: boolean): { nonce: number; bytes: Buffer } {
    const hit = shared ? this.messages.get(chunk) : undefined;
    if (hit && hit.version === version && hit.nonce > after) return hit;
    const nonce = ++this.nonceCounter;
    const head = encodeResponseHead(typeUrl, version, String(nonce), this.opts.controlPlaneId ?? 'weft-control-plane');
    const m = { nonce, version, bytes: Buffer.concat([head, chunk.body], head.length + chunk.body.length) };
    if (shared) this.messages.set(chunk, m);
    return m;
  }

  /** The stream handler, for adding the service to a grpc.Server of your own. */
  readonly handler = (call: AdsCall): void => {
    const id = this.nextId++;
    const writer = new StreamWriter({ write: (r, cb) => call.write(r, cb) }, this.budget);
    const stream = new AdsStream(id, {
      cache: this.opts.cache,
      ledger: this.ledger,
      metrics: this.metrics,
      maxResponseBytes: this.opts.maxResponseBytes ?? 4 * 1024 * 1024 - 64 * 1024,
      send: (t, version, chunk, after, shared) => {
        const m = this.respond(t, version, chunk, after, shared);
        writer.send({ typeUrl: t, version, bytes: m.bytes });
        return m.nonce;
      },
      identify: (req) => identifyNode(id, req),
      onConnected: (node) => {
        this.metrics.clients.inc({ kind: node.kind });
        this.log('info', `node ${node.id} (${node.kind}, ${node.userAgent}) connected on stream ${id}`);
        this.emit(this.connectedCbs, node, 'onNodeConnected');
      },
      log: this.log,
    });
    this.streams.set(id, { stream, call });
    let ended = false;
    const end = () => {
      if (ended) return;
      ended = true;
      writer.close();
      this.streams.delete(id);
      const node = stream.node;
      if (!node) return;
      this.metrics.clients.dec({ kind: node.kind });
      this.ledger.dropNode(node.id, id);
      this.log('info', `node ${node.id} disconnected (stream ${id})`);
      this.emit(this.disconnectedCbs, node, 'onNodeDisconnected');
    };
    call.on('data', (req: DiscoveryRequest) => {
      if (!stream.node && !req.node) {
        failStream(call, grpc.status.INVALID_ARGUMENT, 'the first DiscoveryRequest of a stream must carry node');
        return;
      }
      this.guard(stream, () => stream.onRequest(req));
    });
    call.on('end', () => { end(); call.end(); });
    call.on('error', end);
    call.on('close', end);
    call.on('cancelled', end);
  };

  /** Binds a gRPC server on `host:port` (port 0 picks one) and returns the bound port. */
  async listen(port: number, host = '127.0.0.1'): Promise<number> {
    if (this.server) throw new WeftError('WEFT_ERR_XDS_ALREADY_LISTENING', 'the ADS server is already listening');
    const server = new grpc.Server(ADS_SERVER_CHANNEL_OPTIONS);
    server.addService(ADS_SERVICE, { StreamAggregatedResources: this.handler });
    const target = host.includes(':') && !host.startsWith('[') ? `[${host}]:${port}` : `${host}:${port}`;
    const bound = await new Promise<number>((resolve, reject) => {
      server.bindAsync(target, grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(new WeftError('WEFT_ERR_XDS_BIND', `cannot listen on ${target}: ${err.message}`, { cause: err })) : resolve(p)));
    });
    this.server = server;
    return bound;
  }

  /** Ends every stream and stops the server (force after `graceMs`). */
  async close(graceMs = 1000): Promise<void> {
    this.unsubscribe();
    const server = this.server;
    this.server = undefined;
    for (const { call } of this.streams.values()) call.end();
    if (!server) return;
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => { server.forceShutdown(); resolve(); }, graceMs);
      server.tryShutdown(() => { clearTimeout(t); resolve(); });
    });
  }
}
