/**
 * A tiny Kubernetes API server that replays recorded objects and watch streams over real HTTP, so
 * client-node's list/watch code runs unmodified: lists, chunked watch streams resumed from a
 * resourceVersion, 410 Gone after compaction, bookmarks, dropped connections and status PATCHes.
 */
import { readFileSync } from 'node:fs';
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import type { K8sClientModule } from '../../../control-plane/sources/kubernetes';

/** Directory of the recorded lists and watch streams. */
export const RECORDINGS = join(__dirname, 'recordings');

/** One line of a watch stream, as the API server sends it. */
export interface WatchEvent {
  readonly type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  readonly object: K8sObject;
}
/** A Kubernetes object, loosely. */
export interface K8sObject {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string; resourceVersion?: string; generation?: number; [k: string]: unknown };
  [k: string]: unknown;
}
/** A request the server received (for assertions). */
export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly query: Readonly<Record<string, string>>;
  readonly contentType?: string;
  readonly body?: unknown;
}

interface Collection {
  readonly kind: string;
  readonly listKind: string;
  readonly apiVersion: string;
  readonly items: Map<string, K8sObject>;
  readonly log: { rv: number; line: string }[];
  readonly watchers: Set<ServerResponse>;
  /** Open watches that no longer get events (a silently stalled watch). */
  readonly stalled: Set<ServerResponse>;
  /** Watches from a resourceVersion below this get 410 Gone (history compacted). */
  minValidRv: number;
}

/** Collection path of every kind the weft control plane watches. */
export const PATHS: Readonly<Record<string, string>> = {
  MeshConfig: '/apis/weft.dev/v1alpha1/meshconfigs',
  MeshService: '/apis/weft.dev/v1alpha1/meshservices',
  CanaryRoute: '/apis/weft.dev/v1alpha1/canaryroutes',
  MtlsPolicy: '/apis/weft.dev/v1alpha1/mtlspolicies',
  Service: '/api/v1/services',
  EndpointSlice: '/apis/discovery.k8s.io/v1/endpointslices',
  Pod: '/api/v1/pods',
};
const API_VERSIONS: Readonly<Record<string, string>> = {
  Service: 'v1',
  Pod: 'v1',
  EndpointSlice: 'discovery.k8s.io/v1',
};

const keyOf = (o: K8sObject) => `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;

/** Reads a recorded JSON file (a List) from RECORDINGS. */
export function readRecording<T = K8sObject>(file: string): T {
  return JSON.parse(readFileSync(join(RECORDINGS, file), 'utf8')) as T;
}

/** Reads a recorded watch stream (newline-delimited JSON, one event a line). */
export function readStream(file: string): WatchEvent[] {
  return readFileSync(join(RECORDINGS, file), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as WatchEvent);
}

/** RFC 7386 JSON merge patch. */
function mergePatch(target: unknown, patch: unknown): unknown {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) return patch;
  const out: Record<string, unknown> = typeof target === 'object' && target !== null && !Array.isArray(target) ? { ...(target as Record<string, unknown>) } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

/** The replaying API server. Start with `RecordedApiServer.start()`, close in afterEach. */
/** Writes `body` as the API server's JSON answer with HTTP status `code`. */
export function sendJson(res: ServerResponse, code: number, body: unknown): void {
  res.writeHead(code, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

/** A `Status` object as the API server returns it for a failed request. */
export function k8sStatus(code: number, reason: string, message = reason): object {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
}

export class RecordedApiServer {
  readonly requests: RecordedRequest[] = [];
  private readonly collections = new Map<string, Collection>();
  private rv = 1000;
  private readonly watchArrivals: (() => void)[] = [];

  private constructor(private readonly server: Server) {
    for (const [kind, path] of Object.entries(PATHS)) {
      const apiVersion = API_VERSIONS[kind] ?? 'weft.dev/v1alpha1';
      this.collections.set(path, { kind, listKind: `${kind}List`, apiVersion, items: new Map(), log: [], watchers: new Set(), stalled: new Set(), minValidRv: 0 });
    }
  }

  /** Listens on 127.0.0.1:0. */
  static async start(): Promise<RecordedApiServer> {
    const server = createServer();
    const api = new RecordedApiServer(server);
    server.on('request', (req, res) => api.handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return api;
  }

  /** `http://127.0.0.1:<port>`. */
  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** A KubeConfig (of the given client module) that points at this server with a bearer token. */
  kubeConfig(client: K8sClientModule): KubeConfig {
    const kc = new client.KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'recorded', server: this.url, skipTLSVerify: true }],
      users: [{ name: 'weft-control-plane', token: 'recorded-token' }],
      contexts: [{ name: 'recorded', cluster: 'recorded', user: 'weft-control-plane' }],
      currentContext: 'recorded',
    });
    return kc;
  }

  /** Seeds state from a recorded List (its items keep their recorded resourceVersions). */
  load(list: { items: K8sObject[] }): void {
    for (const item of list.items) {
      const c = this.collectionOf(item);
      c.items.set(keyOf(item), item);
      this.rv = Math.max(this.rv, Number(item.metadata?.resourceVersion ?? 0));
    }
  }

  /** Applies one recorded event: updates state, stamps a fresh resourceVersion, streams it to watchers. */
  apply(ev: WatchEvent): number {
    const c = this.collectionOf(ev.object);
    const rv = ++this.rv;
    const object: K8sObject = { ...ev.object, metadata: { ...ev.object.metadata, resourceVersion: String(rv) } };
    if (ev.type === 'BOOKMARK') {
      this.broadcast(c, rv, { type: 'BOOKMARK', object }, false);
      return rv;
    }
    if (ev.type === 'DELETED') c.items.delete(keyOf(object));
    else c.items.set(keyOf(object), object);
    this.broadcast(c, rv, { type: ev.type, object }, true);
    return rv;
  }

  /** Sends a BOOKMARK carrying the current resourceVersion to the watchers of `kind`. */
  bookmark(kind: string): number {
    const c = this.collection(kind);
    const object = { apiVersion: c.apiVersion, kind: c.kind, metadata: { resourceVersion: String(++this.rv) } };
    this.broadcast(c, this.rv, { type: 'BOOKMARK', object }, false);
    return this.rv;
  }

  /** Cuts the watch connections of `kind` (or all) without an HTTP end: a network drop. */
  dropWatches(kind?: string): void {
    for (const c of this.pick(kind)) {
      for (const res of [...c.watchers, ...c.stalled]) res.socket?.destroy();
      c.watchers.clear();
      c.stalled.clear();
    }
  }

  /** Keeps the watch connections of `kind` open but sends them nothing more: a silent stall. */
  stallWatches(kind: string): void {
    const c = this.collection(kind);
    for (const res of c.watchers) c.stalled.add(res);
    c.watchers.clear();
  }

  /** Ends the watch responses of `kind` (or all) cleanly, as the API server does at its watch timeout. */
  endWatches(kind?: string): void {
    for (const c of this.pick(kind)) {
      for (const res of c.watchers) res.end();
      c.watchers.clear();
    }
  }

  /** Forgets history of `kind`: a watch from any resourceVersion older than the current one gets 410 Gone. */
  compact(kind: string): void {
    this.collection(kind).minValidRv = this.rv;
  }

  /** Number of open watches on `kind`. */
  watching(kind: string): number {
    return this.collection(kind).watchers.size;
  }

  /** Resolves once `kind` has at least `n` open watches (watch arrival, not time, is the signal). */
  async waitForWatches(kind: string, n = 1): Promise<void> {
    while (this.watching(kind) < n) await new Promise<void>((resolve) => this.watchArrivals.push(resolve));
  }

  /** Requests to `path` with method `method`, in arrival order. */
  requestsTo(method: string, path: string): RecordedRequest[] {
    return this.requests.filter((r) => r.method === method && r.path === path);
  }

  /** Lists (non-watch GETs) of `kind` so far. */
  lists(kind: string): RecordedRequest[] {
    return this.requestsTo('GET', PATHS[kind]).filter((r) => r.query.watch !== 'true');
  }

  /** Watch requests of `kind` so far. */
  watches(kind: string): RecordedRequest[] {
    return this.requestsTo('GET', PATHS[kind]).filter((r) => r.query.watch === 'true');
  }

  /** The stored object (after patches). */
  get(kind: string, name: string, namespace?: string): K8sObject | undefined {
    return this.collection(kind).items.get(`${namespace ?? ''}/${name}`);
  }

  async close(): Promise<void> {
    this.dropWatches();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private collection(kind: string): Collection {
    const c = this.collections.get(PATHS[kind]);
    if (!c) throw new Error(`recorded server: unknown kind ${kind}`);
    return c;
  }

  private collectionOf(o: K8sObject): Collection {
    return this.collection(o.kind ?? '');
  }

  private pick(kind?: string): Collection[] {
    return kind ? [this.collection(kind)] : [...this.collections.values()];
  }

  private broadcast(c: Collection, rv: number, ev: WatchEvent, logged: boolean): void {
    const line = `${JSON.stringify(ev)}\n`;
    if (logged) c.log.push({ rv, line });
    for (const res of c.watchers) res.write(line);
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (d: Buffer) => chunks.push(d));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://x');
      const text = Buffer.concat(chunks).toString('utf8');
      const contentType = req.headers['content-type'];
      this.requests.push({
        method: req.method ?? 'GET',
        path: url.pathname,
        query: Object.fromEntries(url.searchParams),
        ...(contentType ? { contentType } : {}),
        ...(text ? { body: JSON.parse(text) as unknown } : {}),
      });
      if (req.headers.authorization !== 'Bearer recorded-token') return this.status(res, 401, 'Unauthorized', 'Unauthorized');
      if (req.method === 'GET') return this.get_(url, res);
      if (req.method === 'PATCH') return this.patch(url, contentType, text, res);
      this.status(res, 405, 'MethodNotAllowed', `${req.method} is not supported here`);
    });
  }

  private get_(url: URL, res: ServerResponse): void {
    const c = this.collections.get(url.pathname);
    if (!c) return this.status(res, 404, 'NotFound', `the server could not find the requested resource (${url.pathname})`);
    if (url.searchParams.get('watch') !== 'true') {
      const items = [...c.items.values()].sort((a, b) => keyOf(a).localeCompare(keyOf(b)));
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ apiVersion: c.apiVersion, kind: c.listKind, metadata: { resourceVersion: String(this.rv) }, items }));
      return;
    }
    const from = Number(url.searchParams.get('resourceVersion') || '0');
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    if (from < c.minValidRv) {
      // What kube-apiserver sends when the requested version was compacted away.
      const gone = { apiVersion: 'v1', kind: 'Status', metadata: {}, status: 'Failure', message: `too old resource version: ${from} (${c.minValidRv})`, reason: 'Expired', code: 410 };
      res.end(`${JSON.stringify({ type: 'ERROR', object: gone })}\n`);
      return;
    }
    for (const e of c.log) if (e.rv > from) res.write(e.line);
    res.flushHeaders();
    c.watchers.add(res);
    res.on('close', () => {
      c.watchers.delete(res);
      c.stalled.delete(res);
    });
    this.watchArrivals.splice(0).forEach((w) => w());
  }

  private patch(url: URL, contentType: string | undefined, text: string, res: ServerResponse): void {
    const m = /^(\/apis\/weft\.dev\/v1alpha1)(?:\/namespaces\/([^/]+))?\/([^/]+)\/([^/]+)\/status$/.exec(url.pathname);
    const c = m ? this.collections.get(`${m[1]}/${m[3]}`) : undefined;
    if (!m || !c) return this.status(res, 404, 'NotFound', `no status subresource at ${url.pathname}`);
    if (contentType !== 'application/merge-patch+json') return this.status(res, 415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml`);
    const current = c.items.get(`${m[2] ?? ''}/${m[4]}`);
    if (!current) return this.status(res, 404, 'NotFound', `${c.kind.toLowerCase()}s.weft.dev "${m[4]}" not found`);
    const patch = JSON.parse(text) as { status?: unknown };
    // The status subresource ignores everything but .status.
    const next = { ...current, status: mergePatch(current.status, patch.status) } as K8sObject;
    const rv = this.apply({ type: 'MODIFIED', object: next });
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ ...next, metadata: { ...next.metadata, resourceVersion: String(rv) } }));
  }

  private status(res: ServerResponse, code: number, reason: string, message: string): void {
    sendJson(res, code, k8sStatus(code, reason, message));
  }
}
