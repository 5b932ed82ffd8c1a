/**
 * The local source (weft up, Kuma-universal style): weft custom resources from `dist/*.yaml`,
 * re-read whole on change; endpoints from sidecars that register over ADS plus an optional static
 * JSON file. A bad read keeps the last good state and is reported, never an empty mesh.
 */
import { FSWatcher, watch } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import type { EndpointModel } from '../../api/model';
import type { WeftResource } from '../../api/resources';
import type { ResourceStatus } from '../../api/status';
import { debounce, Debouncer } from './debounce';
import { endpointOfNode, checkEndpoint, NodeRegistration, parseEndpointsFile } from './endpoints';
import { SourceError, SOURCE_ERROR_CODES } from './errors';
import { compareEndpoints } from './k8s-endpoints';
import { lastAcceptedOfStatusFile } from './last-accepted';
import { isManifestFile, readManifests } from './manifests';
import type { MeshSource, SourceSnapshot } from './types';

/** Options of the local source. */
export interface LocalSourceProps {
  /** Directory of synthesized manifests (`cdk8s synth` output). */
  readonly dir: string;
  /** JSON array of static endpoints (proxyless tests, plain backends). @default none */
  readonly endpointsFile?: string;
  /** Where `reportStatus` writes its verdicts. @default '.weft/status.json' (relative to the working directory) */
  readonly statusFile?: string;
  /** Quiet time after a file change before re-reading. @default 100 */
  readonly debounceMs?: number;
  /** Where read errors go (the last good snapshot stays). @default ignore */
  readonly onError?: (err: SourceError) => void;
}

/** Node lifecycle events of an ADS server (weft's, or any with the same two hooks). */
export interface NodeEvents {
  onNodeConnected(cb: (node: NodeRegistration) => void): void;
  onNodeDisconnected(cb: (node: NodeRegistration) => void): void;
}

/** Watches a manifest directory and a registry of endpoints; emits whole snapshots. */
export class LocalSource implements MeshSource {
  readonly dir: string;
  readonly statusFile: string;
  private readonly endpointsFile?: string;
  private readonly debounceMs: number;
  private readonly onError: (err: SourceError) => void;
  private resources: WeftResource<unknown>[] = [];
  private staticEndpoints: EndpointModel[] = [];
  /** Registered endpoints by instance, with a count: a sidecar may reconnect before its old stream closes. */
  private readonly registered = new Map<string, { endpoint: EndpointModel; refs: number }>();
  /** Node ids that registered through the ADS hooks (only those deregister on disconnect). */
  private readonly registeredNodes = new Set<string>();
  private readonly watchers: FSWatcher[] = [];
  private dirWatcher?: FSWatcher;
  private debouncer?: Debouncer;
  /** Endpoint changes only re-emit; they never re-read files. */
  private endpointDebouncer?: Debouncer;
  private lastStatuses: readonly ResourceStatus[] = [];
  /** Last accepted versions a previous run wrote into the status file (a restarted control plane keeps them). */
  private remembered: WeftResource<unknown>[] = [];
  private onChange?: (snapshot: SourceSnapshot) => void;
  private lastEmitted = '';
  private lastStatus = '';
  private statusChain: Promise<void> = Promise.resolve();
  private reading: Promise<void> = Promise.resolve();
  /** The most recent read error, cleared by the next good read. */
  public lastError?: SourceError;

  constructor(props: LocalSourceProps) {
    this.dir = resolve(props.dir);
    this.endpointsFile = props.endpointsFile ? resolve(props.endpointsFile) : undefined;
    this.statusFile = resolve(props.statusFile ?? '.weft/status.json');
    this.debounceMs = props.debounceMs ?? 100;
    this.onError = props.onError ?? (() => undefined);
  }

  /** Reads everything once (failing if that first read fails), emits, then watches. */
  async start(onChange: (snapshot: SourceSnapshot) => void): Promise<void> {
    this.resources = await readManifests(this.dir);
    this.remembered = lastAcceptedOfStatusFile(await readFile(this.statusFile, 'utf8').catch(() => undefined));
    if (this.endpointsFile) this.staticEndpoints = parseEndpointsFile(await readFile(this.endpointsFile, 'utf8').catch((e: Error) => {
      throw new SourceError(SOURCE_ERROR_CODES.endpoints, `cannot read ${this.endpointsFile}: ${e.message}`, { cause: e });
    }), this.endpointsFile);
    this.onChange = onChange;
    this.debouncer = debounce(() => {
      this.reading = this.reading.then(() => this.reload());
    }, this.debounceMs);
    this.endpointDebouncer = debounce(() => this.emit(), Math.min(this.debounceMs, 50));
    this.armDirWatcher();
    // The parent is watched too: `cdk8s synth` may delete and recreate the output directory.
    this.watchers.push(this.fsWatch(dirname(this.dir), (f) => f === basename(this.dir), () => this.armDirWatcher()));
    if (this.endpointsFile) this.watchers.push(this.fsWatch(dirname(this.endpointsFile), (f) => f === basename(this.endpointsFile!)));
    this.emit();
  }

  async stop(): Promise<void> {
    this.debouncer?.cancel();
    this.endpointDebouncer?.cancel();
    this.onChange = undefined;
    for (const w of this.watchers) w.close();
    this.watchers.length = 0;
    this.dirWatcher?.close();
    this.dirWatcher = undefined;
    await this.reading;
  }

  /** Adds (or refreshes) a self-registered endpoint; throws WEFT_ERR_SOURCE_REGISTER when malformed. */
  register(endpoint: EndpointModel): void {
    const checked = checkEndpoint(endpoint, `endpoint ${endpoint.instance ?? '?'}`);
    const cur = this.registered.get(checked.instance);
    this.registered.set(checked.instance, { endpoint: checked, refs: (cur?.refs ?? 0) + 1 });
    this.endpointDebouncer?.trigger();
  }

  /** Drops one registration of `instance`; the endpoint leaves when its last registration does. */
  deregister(instance: string): void {
    const cur = this.registered.get(instance);
    if (!cur) return;
    if (cur.refs > 1) this.registered.set(instance, { ...cur, refs: cur.refs - 1 });
    else this.registered.delete(instance);
    this.endpointDebouncer?.trigger();
  }

  /** Subscribes to an ADS server's node events: a connecting sidecar registers its endpoint. */
  attach(events: NodeEvents): void {
    events.onNodeConnected((node) => this.nodeConnected(node));
    events.onNodeDisconnected((node) => this.nodeDisconnected(node));
  }

  /** ADS `onNodeConnected` hook: a sidecar with `metadata.endpoint` registers; errors are reported, not thrown. */
  readonly nodeConnected = (node: NodeRegistration): void => {
    try {
      const endpoint = endpointOfNode(node);
      if (!endpoint) return;
      this.register(endpoint);
      this.registeredNodes.add(node.id);
    } catch (e) {
      this.fail(e as SourceError);
    }
  };

  /** ADS `onNodeDisconnected` hook. */
  readonly nodeDisconnected = (node: NodeRegistration): void => {
    if (this.registeredNodes.has(node.id)) this.deregister(node.id);
    if (!this.registered.has(node.id)) this.registeredNodes.delete(node.id);
  };

  /** The current snapshot. */
  snapshot(): SourceSnapshot {
    const byInstance = new Map<string, EndpointModel>();
    for (const e of this.staticEndpoints) byInstance.set(e.instance, e);
    for (const { endpoint } of this.registered.values()) byInstance.set(endpoint.instance, endpoint); // live beats static
    return { resources: this.resources, endpoints: [...byInstance.values()].sort(compareEndpoints), ...(this.remembered.length ? { lastAccepted: this.remembered } : {}) };
  }

  /** Writes the verdicts to the status file (atomically, and only when they changed). */
  async reportStatus(statuses: readonly ResourceStatus[]): Promise<void> {
    this.lastStatuses = statuses;
    const sorted = [...statuses].sort((a, b) => `${a.kind}/${a.namespace ?? ''}/${a.name}`.localeCompare(`${b.kind}/${b.namespace ?? ''}/${b.name}`));
    const body = JSON.stringify({ resources: sorted, ...(this.lastError ? { sourceError: { code: this.lastError.code, message: this.lastError.message } } : {}) }, null, 2);
    // one write at a time, in call order: two reports in flight (a snapshot and a source error) used to
    // share one temp file, and the second rename failed with ENOENT; the file ends with the last report
    const write = this.statusChain.then(async () => {
      if (body === this.lastStatus) return;
      try {
        await mkdir(dirname(this.statusFile), { recursive: true });
        const tmp = `${this.statusFile}.${process.pid}.tmp`;
        await writeFile(tmp, `${body}\n`);
        await rename(tmp, this.statusFile);
        this.lastStatus = body;
      } catch (e) {
        throw new SourceError(SOURCE_ERROR_CODES.statusFile, `cannot write ${this.statusFile}: ${(e as Error).message}`, { cause: e });
      }
    });
    this.statusChain = write.catch(() => undefined);
    return write;
  }

  private armDirWatcher(): void {
    this.dirWatcher?.close();
    this.dirWatcher = undefined;
    try {
      this.dirWatcher = this.fsWatch(this.dir, (f) => isManifestFile(f));
    } catch {
      // The directory is gone for now; the parent watcher re-arms us when it is back.
    }
    this.debouncer?.trigger();
  }

  private fsWatch(path: string, relevant: (file: string) => boolean, also?: () => void): FSWatcher {
    const w = watch(path, { persistent: false }, (_event, file) => {
      if (file !== null && !relevant(file.toString())) return;
      if (also) also();
      else this.debouncer?.trigger();
    });
    w.on('error', () => {
      if (path === this.dir) this.armDirWatcher();
    });
    return w;
  }

  /** Re-reads everything; on failure keeps the last good parts and reports. */
  private async reload(): Promise<void> {
    if (!this.onChange) return;
    let failed: SourceError | undefined;
    try {
      this.resources = await readManifests(this.dir, { allowNoFiles: this.resources.length === 0 });
    } catch (e) {
      failed = e as SourceError;
    }
    if (this.endpointsFile) {
      try {
        this.staticEndpoints = parseEndpointsFile(await readFile(this.endpointsFile, 'utf8'), this.endpointsFile);
      } catch (e) {
        failed ??= toSourceError(e, `cannot read ${this.endpointsFile}`);
      }
    }
    if (failed) this.fail(failed);
    else if (this.lastError) {
      this.lastError = undefined;
      if (this.lastStatus) this.reportStatus(this.lastStatuses).catch((e: SourceError) => this.onError(e));
    }
    this.emit();
  }

  private emit(): void {
    if (!this.onChange) return;
    const snap = this.snapshot();
    const text = JSON.stringify(snap);
    if (text === this.lastEmitted) return;
    this.lastEmitted = text;
    this.onChange(snap);
  }

  private fail(err: SourceError): void {
    this.lastError = err;
    this.onError(err);
    // The snapshot did not change, so nobody will call reportStatus: surface the error in the file now.
    if (this.lastStatus) this.reportStatus(this.lastStatuses).catch((e: SourceError) => this.onError(e));
  }
}

function toSourceError(e: unknown, what: string): SourceError {
  if (e instanceof SourceError) return e;
  return new SourceError(SOURCE_ERROR_CODES.endpoints, `${what}: ${(e as Error).message}`, { cause: e });
}
