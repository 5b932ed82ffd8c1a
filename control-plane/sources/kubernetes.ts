/**
 * The Kubernetes source: client-node informers (ListWatch over Watch) on the weft custom resources,
 * Services, EndpointSlices and Pods; debounced whole snapshots out, `status.conditions` back in.
 */
import type * as K8s from '@kubernetes/client-node';
import type { Condition, Kind, WeftResource } from '../../api/resources';
import { API_VERSION, GROUP, KINDS, VERSION } from '../../api/resources';
import type { ResourceStatus } from '../../api/status';
import { conditionsFor, CONDITION_TYPES, sameConditions } from './conditions';
import { debounce, Debouncer } from './debounce';
import { SourceError, SOURCE_ERROR_CODES } from './errors';
import { staleKeys } from './k8s-liveness';
import { lastAcceptedFields, lastAcceptedOfObject, sameLastAccepted } from './last-accepted';
import { deriveEndpoints, EndpointSliceLike, PodLike, ServiceLike, SIDECAR_CONTAINER } from './k8s-endpoints';
import type { MeshSource, SourceSnapshot } from './types';

/** The `@kubernetes/client-node` module (injectable: tests pass a CommonJS build of the same code). */
export type K8sClientModule = typeof K8s;

/** Options of the Kubernetes source. */
export interface KubernetesSourceProps {
  /** Cluster credentials. @default `loadFromDefault()` (KUBECONFIG, ~/.kube/config or in-cluster) */
  readonly kubeConfig?: K8s.KubeConfig;
  /** Kubeconfig file to load when `kubeConfig` is not given. @default the default chain */
  readonly kubeconfigPath?: string;
  /** The client library. @default require('@kubernetes/client-node') */
  readonly client?: K8sClientModule;
  /** Quiet time that ends a burst of watch events before a snapshot is emitted. @default 75 */
  readonly debounceMs?: number;
  /** Name of the sidecar container that marks a pod as meshed. @default 'weft-proxy' */
  readonly sidecarName?: string;
  /** Backoff before a failed list/watch is restarted (doubles up to the max). @default { baseMs: 250, maxMs: 10000 } */
  readonly restartBackoff?: { readonly baseMs: number; readonly maxMs: number };
  /** Interval of the liveness check (a list compared with each cache; a stale cache gets a fresh informer). 0 disables. @default 300000 */
  readonly livenessCheckMs?: number;
  /** How long `start()` waits for every informer's first list. @default 30000 */
  readonly syncTimeoutMs?: number;
  /** Field manager recorded on status writes. @default 'weft-control-plane' */
  readonly fieldManager?: string;
  /** Where list/watch/status errors go (the source keeps running). @default ignore */
  readonly onError?: (err: SourceError) => void;
  /** Clock for condition transition times. @default () => new Date() */
  readonly now?: () => Date;
}

type Obj = K8s.KubernetesObject & Record<string, unknown>;
type ListFn = () => Promise<K8s.KubernetesListObject<Obj>>;

interface Collection {
  readonly name: string;
  readonly path: string;
  readonly listFn: ListFn;
  readonly informer: K8s.ListWatch<Obj>;
  errors: number;
  attempts: number;
  synced: boolean;
  /** Replaced by a fresh informer (after a stale watch): its late callbacks are ignored. */
  retired: boolean;
  restartTimer?: NodeJS.Timeout;
}

const WEFT_KINDS = Object.keys(KINDS) as Kind[];

/** Watches a cluster and emits SourceSnapshots; writes verdicts through the status subresource. */
export class KubernetesSource implements MeshSource {
  private readonly client: K8sClientModule;
  private readonly kc: K8s.KubeConfig;
  private readonly debounceMs: number;
  private readonly sidecarName: string;
  private readonly backoff: { readonly baseMs: number; readonly maxMs: number };
  private readonly syncTimeoutMs: number;
  private readonly livenessCheckMs: number;
  private livenessTimer?: NodeJS.Timeout;
  private readonly fieldManager: string;
  private readonly onError: (err: SourceError) => void;
  private readonly now: () => Date;
  private readonly collections = new Map<string, Collection>();
  /** Conditions this replica last wrote, by resource key: suppresses repeats before the watch catches up. */
  private readonly written = new Map<string, string>();
  private debouncer?: Debouncer;
  private lastEmitted = '';
  private readonly mismatches = new Set<string>();
  private stopped = false;
  private onChange?: (snapshot: SourceSnapshot) => void;
  /** The most recent error, for `/status`. */
  public lastError?: SourceError;

  constructor(props: KubernetesSourceProps = {}) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    this.client = props.client ?? (require('@kubernetes/client-node') as K8sClientModule);
    this.kc = props.kubeConfig ?? defaultKubeConfig(this.client, props.kubeconfigPath);
    this.debounceMs = props.debounceMs ?? 75;
    this.sidecarName = props.sidecarName ?? SIDECAR_CONTAINER;
    this.backoff = props.restartBackoff ?? { baseMs: 250, maxMs: 10_000 };
    this.syncTimeoutMs = props.syncTimeoutMs ?? 30_000;
    this.livenessCheckMs = props.livenessCheckMs ?? 300_000;
    this.fieldManager = props.fieldManager ?? 'weft-control-plane';
    this.onError = props.onError ?? (() => undefined);
    this.now = props.now ?? (() => new Date());
  }

  /** Lists and watches everything; resolves after the first snapshot was handed to `onChange`. */
  async start(onChange: (snapshot: SourceSnapshot) => void): Promise<void> {
    this.onChange = onChange;
    this.stopped = false;
    this.debouncer = debounce(() => this.emit(), this.debounceMs);
    const custom = this.kc.makeApiClient(this.client.CustomObjectsApi);
    const core = this.kc.makeApiClient(this.client.CoreV1Api);
    const discovery = this.kc.makeApiClient(this.client.DiscoveryV1Api);
    for (const kind of WEFT_KINDS) {
      const plural = KINDS[kind].plural;
      this.add(kind, `/apis/${GROUP}/${VERSION}/${plural}`, () => custom.listClusterCustomObject({ group: GROUP, version: VERSION, plural }) as Promise<K8s.KubernetesListObject<Obj>>);
    }
    this.add('Service', '/api/v1/services', () => core.listServiceForAllNamespaces() as unknown as ReturnType<ListFn>);
    this.add('EndpointSlice', '/apis/discovery.k8s.io/v1/endpointslices', () => discovery.listEndpointSliceForAllNamespaces() as unknown as ReturnType<ListFn>);
    this.add('Pod', '/api/v1/pods', () => core.listPodForAllNamespaces() as unknown as ReturnType<ListFn>);

    await Promise.all([...this.collections.values()].map((c) => this.run(c)));
    await this.waitForSync();
    this.emit();
    if (this.livenessCheckMs > 0) this.scheduleLivenessCheck();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.debouncer?.cancel();
    if (this.livenessTimer) clearTimeout(this.livenessTimer);
    for (const c of this.collections.values()) {
      if (c.restartTimer) clearTimeout(c.restartTimer);
      await c.informer.stop();
    }
    this.collections.clear();
  }

  /** The snapshot as the caches hold it now. */
  snapshot(): SourceSnapshot {
    const resources: WeftResource<unknown>[] = [];
    const lastAccepted: WeftResource<unknown>[] = [];
    for (const kind of WEFT_KINDS) {
      for (const o of this.list(kind)) {
        resources.push(toWeftResource(kind, o));
        const last = lastAcceptedOfObject(kind, o); // written by us or another replica
        if (last) lastAccepted.push(last);
      }
    }
    resources.sort((a, b) => a.kind.localeCompare(b.kind) || (a.metadata.namespace ?? '').localeCompare(b.metadata.namespace ?? '') || a.metadata.name.localeCompare(b.metadata.name));
    const meshServices = new Map(this.list('MeshService').map((o) => [`${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`, String((o.spec as { serviceAccount?: unknown } | undefined)?.serviceAccount ?? '')]));
    const endpoints = deriveEndpoints({
      meshServices,
      services: this.list('Service') as readonly ServiceLike[],
      slices: this.list('EndpointSlice') as readonly EndpointSliceLike[],
      pods: this.list('Pod') as readonly PodLike[],
      sidecarName: this.sidecarName,
      onIdentityMismatch: (pod, runsAs, expected) => {
        const note = `${pod}:${runsAs}:${expected}`;
        if (this.mismatches.has(note)) return; // once per pod and pair, not per snapshot
        this.mismatches.add(note);
        this.fail(new SourceError(SOURCE_ERROR_CODES.identity, `pod ${pod} runs as ServiceAccount "${runsAs}" but its MeshService names "${expected}"; left out of the endpoints (its certificate would not match). Fix the pod's serviceAccountName or the MeshService's serviceAccount.`));
      },
    });
    return { resources, endpoints, ...(lastAccepted.length ? { lastAccepted } : {}) };
  }

  /**
   * Writes `Accepted`/`ResolvedRefs` conditions (and `lastAcceptedSpec`/`lastAcceptedGeneration`, the
   * version in force) with a JSON merge patch on the status subresource, only for resources whose
   * status would change. Failures go to `onError`; the rest still run.
   */
  async reportStatus(statuses: readonly ResourceStatus[]): Promise<void> {
    const custom = this.kc.makeApiClient(this.client.CustomObjectsApi);
    const options = this.client.setHeaderOptions('Content-Type', this.client.PatchStrategy.MergePatch);
    for (const st of statuses) {
      if (!(st.kind in KINDS)) continue;
      const kind = st.kind as Kind;
      const cached = this.collections.get(kind)?.informer.get(st.name, st.namespace);
      if (!cached) continue; // deleted meanwhile: nothing to write to
      const generation = (cached.metadata?.generation as number | undefined) ?? undefined;
      const existing = ((cached.status as { conditions?: Condition[] } | undefined)?.conditions ?? []) as Condition[];
      const ours = existing.filter((c) => (CONDITION_TYPES as readonly string[]).includes(c.type));
      const desired = conditionsFor(st, generation, ours, this.now());
      const key = `${kind}/${st.namespace ?? ''}/${st.name}`;
      const last = lastAcceptedFields(st);
      const lastSame = sameLastAccepted(cached.status as Record<string, unknown> | undefined, last);
      const fingerprint = JSON.stringify([desired.map(({ lastTransitionTime: _t, ...rest }) => rest), last]);
      if (sameConditions(ours, desired) && lastSame) {
        this.written.delete(key); // the cache caught up with our write: from now on it is the reference
        continue;
      }
      if (this.written.get(key) === fingerprint) continue; // written, the watch has not delivered it yet
      const conditions = [...existing.filter((c) => !(CONDITION_TYPES as readonly string[]).includes(c.type)), ...desired];
      const body = { status: { conditions, ...(last && !lastSame ? last : {}) } };
      const { plural, scope } = KINDS[kind];
      try {
        if (scope === 'Cluster') {
          await custom.patchClusterCustomObjectStatus({ group: GROUP, version: VERSION, plural, name: st.name, body, fieldManager: this.fieldManager }, options);
        } else {
          await custom.patchNamespacedCustomObjectStatus({ group: GROUP, version: VERSION, namespace: st.namespace ?? 'default', plural, name: st.name, body, fieldManager: this.fieldManager }, options);
        }
        this.written.set(key, fingerprint);
      } catch (e) {
        this.fail(new SourceError(SOURCE_ERROR_CODES.status, `writing status of ${key} failed: ${(e as Error).message}`, { cause: e }));
      }
    }
  }

  private list(name: string): readonly Obj[] {
    return this.collections.get(name)?.informer.list() ?? [];
  }

  private add(name: string, path: string, listFn: ListFn): void {
    this.collections.set(name, this.newCollection(name, path, listFn));
  }

  private newCollection(name: string, path: string, listFn: ListFn): Collection {
    const informer = new this.client.ListWatch<Obj>(path, new this.client.Watch(this.kc), listFn, false);
    const c: Collection = { name, path, listFn, informer, errors: 0, attempts: 0, synced: false, retired: false };
    const changed = () => {
      c.attempts = 0;
      if (!c.retired && this.isSynced()) this.debouncer?.trigger();
    };
    informer.on('add', changed);
    informer.on('update', changed);
    informer.on('delete', changed);
    informer.on('error', (err?: unknown) => {
      if (this.stopped || c.retired) return;
      c.errors++;
      this.fail(new SourceError(SOURCE_ERROR_CODES.watch, `${name}: list/watch failed: ${(err as Error | undefined)?.message ?? String(err)}`, { cause: err }));
      this.scheduleRestart(c);
    });
    return c;
  }

  private scheduleLivenessCheck(): void {
    this.livenessTimer = setTimeout(() => {
      void this.checkLiveness().finally(() => {
        if (!this.stopped) this.scheduleLivenessCheck();
      });
    }, this.livenessCheckMs);
    this.livenessTimer.unref();
  }

  /** Lists each healthy collection; a cache that disagrees gets a fresh informer (list + watch). */
  private async checkLiveness(): Promise<void> {
    for (const c of [...this.collections.values()]) {
      if (this.stopped || c.retired || c.restartTimer || !c.synced) continue;
      let listed: K8s.KubernetesListObject<Obj>;
      try {
        listed = await c.listFn();
      } catch {
        continue; // an unreachable API also breaks the watch, which reports and restarts itself
      }
      const stale = staleKeys(listed.items, c.informer.list());
      if (stale.length === 0 || c.retired || this.stopped) continue;
      this.fail(new SourceError(SOURCE_ERROR_CODES.stale, `${c.name}: watch is stale (${stale.length} object(s) differ from a fresh list, e.g. ${stale[0]}); replacing the informer`));
      const fresh = this.newCollection(c.name, c.path, c.listFn);
      await this.run(fresh);
      if (fresh.errors > 0 || this.stopped) {
        // Not better than the old one: drop it; the next check tries again.
        fresh.retired = true;
        if (fresh.restartTimer) clearTimeout(fresh.restartTimer);
        await fresh.informer.stop();
        continue;
      }
      c.retired = true;
      if (c.restartTimer) clearTimeout(c.restartTimer);
      this.collections.set(c.name, fresh);
      await c.informer.stop();
      this.debouncer?.trigger();
    }
  }

  /** One informer (re)start; marks the collection synced when its list and watch came up cleanly. */
  private async run(c: Collection): Promise<void> {
    const before = c.errors;
    await c.informer.start();
    if (c.errors === before && !this.stopped && !c.retired) {
      c.attempts = 0;
      if (!c.synced) {
        c.synced = true;
        this.syncWaiters.forEach((w) => w());
      }
      if (this.collections.get(c.name) !== c) return; // a replacement still being started
      // A relist may have changed the cache without per-object events (e.g. after 410 Gone).
      if (this.isSynced()) this.debouncer?.trigger();
    }
  }

  /** Client-node stops an informer on any non-410 error; we restart it, keeping its resourceVersion. */
  private scheduleRestart(c: Collection): void {
    if (c.restartTimer || this.stopped) return;
    const delay = Math.min(this.backoff.maxMs, this.backoff.baseMs * 2 ** c.attempts);
    c.attempts++;
    c.restartTimer = setTimeout(() => {
      c.restartTimer = undefined;
      if (!this.stopped && !c.retired) void this.run(c);
    }, delay);
  }

  private syncWaiters = new Set<() => void>();

  private isSynced(): boolean {
    for (const c of this.collections.values()) if (!c.synced) return false;
    return true;
  }

  private waitForSync(): Promise<void> {
    if (this.isSynced()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.syncWaiters.delete(check);
        const pending = [...this.collections.values()].filter((c) => !c.synced).map((c) => c.name);
        void this.stop();
        reject(new SourceError(SOURCE_ERROR_CODES.sync, `informers did not sync within ${this.syncTimeoutMs}ms: ${pending.join(', ')}${this.lastError ? ` (last error: ${this.lastError.message})` : ''}`));
      }, this.syncTimeoutMs);
      const check = () => {
        if (!this.isSynced()) return;
        clearTimeout(timer);
        this.syncWaiters.delete(check);
        resolve();
      };
      this.syncWaiters.add(check);
    });
  }

  private emit(): void {
    if (this.stopped || !this.onChange) return;
    const snap = this.snapshot();
    const text = JSON.stringify(snap);
    if (text === this.lastEmitted) return; // e.g. a status-only update or a bookmark-driven relist
    this.lastEmitted = text;
    this.onChange(snap);
  }

  private fail(err: SourceError): void {
    this.lastError = err;
    this.onError(err);
  }
}

function defaultKubeConfig(client: K8sClientModule, path?: string): K8s.KubeConfig {
  const kc = new client.KubeConfig();
  if (path) kc.loadFromFile(path);
  else kc.loadFromDefault();
  return kc;
}

/** The snapshot form of a custom resource: spec and identity only (status and resourceVersion churn). */
function toWeftResource(kind: Kind, o: Obj): WeftResource<unknown> {
  const m = o.metadata ?? {};
  return {
    apiVersion: API_VERSION,
    kind,
    metadata: {
      name: m.name ?? '',
      ...(m.namespace ? { namespace: m.namespace } : {}),
      ...(m.generation !== undefined ? { generation: m.generation } : {}),
      ...(m.labels ? { labels: m.labels } : {}),
      ...(m.annotations ? { annotations: stripNoise(m.annotations) } : {}),
      ...(m.uid ? { uid: m.uid } : {}),
    },
    spec: o.spec,
  };
}

/** kubectl's last-applied copy is large and says nothing the spec does not. */
function stripNoise(a: Record<string, string>): Record<string, string> {
  const { 'kubectl.kubernetes.io/last-applied-configuration': _drop, ...rest } = a;
  return rest;
}
