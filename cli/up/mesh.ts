/**
 * startLocalMesh(): the whole mesh on one machine. Synthesize in-process into `.weft/dist`, run the
 * CA in this process (it mints each sidecar's one-time token), the control plane as a child with
 * the local source, then every replica (app + sidecar) and the `--expose` ingresses. Every child is
 * supervised (restarted with backoff, supervise.ts) and dies with this process (lifeline.ts).
 * `stop()` drains in order: ingress, sidecars, apps, control plane.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { EndpointModel } from '../../api/model';
import { otlpEndpointProblem, type ObservabilitySpec } from '../../api/observability';
import { readManifests, startCa, type BootstrapTokenAuthenticator, type RunningCa } from '../../control-plane';
import { prepareEntries, WEFT_ROOT } from './bundle';
import { Child } from './child';
import { UP_ERRORS, UpError } from './errors';
import { Ingress, startIngress } from './ingress';
import { Reaper } from './lifeline';
import { MeshPlan, planMesh } from './plan';
import { assertBindable, freePorts } from './ports';
import { PROMETHEUS_CONFIG, prometheusConfig, startPrometheus, type RunningPrometheus } from './prometheus';
import { ReplicaContext, ReplicaPorts, RunningReplica, startReplica, startSidecar } from './replica';
import { RUN_FILE, RunInfo, type SupervisedRunInfo } from './run-info';
import { type BackoffPolicy, Supervised } from './supervise';
import { appBaseDir, defaultApp, setCanaryWeights, synthesize, writeAtomic } from './synth';

/** Options of startLocalMesh(). */
export interface LocalMeshOptions {
  /**
   * The app: a cdk8s `main.ts`, a mesh module `path/to/mesh.ts[#export]` or a directory of manifests.
   * @default - the entry file of `projectDir`'s cdk8s.yaml `app`; in the weft repository, the bookinfo example
   */
  readonly app?: string;
  /** Second argument of the mesh function. @default {} */
  readonly appProps?: Record<string, unknown>;
  /** `--expose` values (`productpage=9080`). @default none */
  readonly exposes?: readonly string[];
  /** State, certificates, logs. @default `<projectDir>/.weft` */
  readonly stateDir?: string;
  /** Where a relative `app` and the default state dir start (local commands start at the app file's folder). @default process.cwd() */
  readonly projectDir?: string;
  /** Transparent mode: one network namespace per replica, iptables capture (Linux, root). @default false */
  readonly netns?: boolean;
  /** Progress messages (`weft up` prints them). @default none */
  readonly onProgress?: (msg: string) => void;
  /** Time each child gets to become ready. @default 30000 */
  readonly readyTimeoutMs?: number;
  /** Bundle the child entries with esbuild. @default true */
  readonly bundle?: boolean;
  /** Serve the CA without TLS (testing only: tokens travel in the clear, renewals spend one-time tokens). @default false */
  readonly caInsecure?: boolean;
  /** Restart schedule of crashed children. @default 1 s doubling to 30 s, reset after 60 s up */
  readonly backoff?: BackoffPolicy;
  /** `--trace-to`: OTLP/HTTP endpoint every sidecar exports spans to, sampling every new trace. @default the mesh's `observability` */
  readonly traceTo?: string;
  /** `--access-logs`: every sidecar writes JSON access logs (to its log file). @default the mesh's `observability` */
  readonly accessLogs?: boolean;
  /** `--prometheus`: run a real Prometheus on `<state-dir>/prometheus.yml` (port 0 picks one). @default not run (the file is written anyway) */
  readonly prometheus?: { readonly port?: number; readonly binary?: string };
}

/** A running local mesh. */
export interface LocalMesh {
  readonly stateDir: string;
  readonly distDir: string;
  readonly plan: MeshPlan;
  readonly ingresses: readonly Ingress[];
  readonly replicas: readonly RunningReplica[];
  /** The ingress sidecar (present when something is exposed); `child` is the current process. */
  readonly ingressProxy?: { readonly child: Child; readonly unit: Supervised; readonly adminUrl: string; readonly ports: ReplicaPorts };
  /** The Prometheus started with `prometheus` (its HTTP API at `url`). */
  readonly prometheus?: { readonly url: string };
  /** Pid of the reaper process that kills every child if this process dies. */
  readonly reaperPid?: number;
  readonly controlPlane: ControlPlaneHandle;
  /** URL of the ingress of `service` (the first one when omitted). */
  ingressUrl(service?: string): string;
  /** Sets the catch-all split of a CanaryRoute in `.weft/dist` (the control plane picks it up). */
  setCanaryWeights(route: string, weights: Readonly<Record<string, number>>, namespace?: string): Promise<void>;
  /** Crashes one replica (SIGKILL app and sidecar) and drops its endpoint, as a dying pod would; both are restarted with backoff. */
  killReplica(id: string): Promise<void>;
  /** Graceful stop: ingress, sidecars, apps, control plane, CA. Idempotent. */
  stop(): Promise<void>;
}

/** The control-plane child. */
export interface ControlPlaneHandle {
  readonly xdsPort: number;
  readonly statusPort: number;
  readonly child: () => Child;
  /** Its supervisor: state and restart count. */
  readonly unit: Supervised;
  /** SIGKILL (a crash; the supervisor restarts it after its backoff). */
  kill(): Promise<void>;
  /** Starts it again on the same ports now (skipping any backoff wait); resolves once ready. */
  restart(): Promise<void>;
}

/** A file rewritten atomically, one write at a time (writeAtomic's temp name is per process). */
class LatestFile {
  #chain: Promise<void> = Promise.resolve();
  constructor(readonly file: string) {}
  write(text: string): Promise<void> {
    this.#chain = this.#chain.then(() => writeAtomic(this.file, text)).catch(() => undefined);
    return this.#chain;
  }
  settled(): Promise<void> { return this.#chain; }
}

/** The static endpoints file: weft up's registry of ready replicas. */
class EndpointsFile extends LatestFile {
  readonly #eps = new Map<string, EndpointModel>();
  set(ep: EndpointModel): Promise<void> { this.#eps.set(ep.instance, ep); return this.#flush(); }
  delete(instance: string): Promise<void> { this.#eps.delete(instance); return this.#flush(); }
  #flush(): Promise<void> { return this.write(`${JSON.stringify([...this.#eps.values()], null, 2)}\n`); }
}

/** The `--trace-to` / `--access-logs` overrides; a bad URL is a usage error before anything starts. */
export function commandLineObservability(opts: Pick<LocalMeshOptions, 'traceTo' | 'accessLogs'>): ObservabilitySpec | undefined {
  if (opts.traceTo !== undefined) {
    const problem = otlpEndpointProblem(opts.traceTo);
    if (problem) throw new UpError(UP_ERRORS.observability, `--trace-to ${JSON.stringify(opts.traceTo)} ${problem}; give the OTLP/HTTP base URL, e.g. http://127.0.0.1:4318`, { exitCode: 2 });
  }
  if (opts.traceTo === undefined && !opts.accessLogs) return undefined;
  return { ...(opts.traceTo !== undefined ? { tracing: { sampleRate: 1, otlpEndpoint: opts.traceTo } } : {}), ...(opts.accessLogs ? { accessLogs: true } : {}) };
}

/** Starts everything; rejects (after cleaning up) with a coded UpError when any part fails. */
export async function startLocalMesh(opts: LocalMeshOptions = {}): Promise<LocalMesh> {
  const projectDir = resolve(opts.projectDir ?? process.cwd());
  const stateDir = resolve(opts.stateDir ?? join(projectDir, '.weft'));
  const progress = opts.onProgress ?? (() => undefined);
  const readyTimeoutMs = opts.readyTimeoutMs ?? 30_000;
  const observability = commandLineObservability(opts);
  for (const d of ['logs', 'proxies', 'bin']) await mkdir(join(stateDir, d), { recursive: true });

  progress('synthesizing');
  const app = opts.app ?? defaultApp(projectDir, WEFT_ROOT);
  const distDir = await synthesize({ app, props: opts.appProps, outdir: join(stateDir, 'dist'), cwd: projectDir });
  const plan = planMesh(await readManifests(distDir), opts.exposes ?? []);
  // a busy --expose port fails now, not after every replica has started
  for (const x of plan.exposes) if (x.listenPort !== 0) await assertBindable(x.listenPort);
  const entries = await prepareEntries(join(stateDir, 'bin'), opts.bundle ?? true);

  const cleanup: (() => Promise<void>)[] = [];
  // kills every child's process group if this process dies, even by SIGKILL (Node has no PR_SET_PDEATHSIG)
  const reaper = new Reaper();
  const units: Supervised[] = [];
  const killAll = () => { for (const u of units) { try { u.child.signal('SIGKILL'); } catch { /* never started */ } } };
  process.once('exit', killAll);
  const fail = async (e: unknown): Promise<never> => {
    for (const c of cleanup.reverse()) await c().catch(() => undefined);
    for (const u of units) await u.stop(0).catch(() => undefined);
    process.removeListener('exit', killAll);
    reaper.close();
    throw e;
  };
  let writeRun: () => void = () => undefined;
  let stopping: Promise<void> | undefined;
  const startedAt = new Date().toISOString();
  const onEvent = (msg: string) => progress(msg);

  try {
    const netns = opts.netns ? await (await import('./netns')).createNetworks(plan, stateDir) : undefined;
    if (netns) cleanup.push(() => netns.destroy());
    const hostAddr = netns?.hostAddress ?? '127.0.0.1';
    const [xdsPort, statusPort, caPort] = await freePorts(3, hostAddr);

    progress(`starting the CA (trust domain ${plan.mesh.trustDomain})`);
    const log = (level: string, msg: string) => { if (level === 'error') progress(`CA: ${msg}`); };
    // TLS by default: the CA serves a certificate for hostAddr; each sidecar verifies it with <stateDir>/ca-root.pem.
    const ca: RunningCa = await startCa({ source: 'local', port: caPort, host: hostAddr, mesh: plan.mesh, stateDir, secretNamespace: 'weft-system', secretName: 'weft-ca', log, insecure: opts.caInsecure });
    cleanup.push(() => ca.close());
    const tokens = ca.authenticator as BootstrapTokenAuthenticator;

    const endpoints = new EndpointsFile(join(stateDir, 'endpoints.json'));
    await endpoints.delete(''); // writes the empty list the control plane starts from
    // ADS is TLS too: the CA writes the control-plane child a serving certificate (the CA endpoint's names) and
    // rewrites it on every rotation; the child re-reads it (--xds-tls-dir). --ca-insecure makes both plaintext.
    const xdsTls = ca.tls ? { xdsTlsDir: join(stateDir, 'xds-tls') } : { xdsInsecure: true };
    if (ca.tls) ca.writeServingCertificate(xdsTls.xdsTlsDir!); // stops with ca.close()
    // /status (every proxy's config versions) binds loopback: nothing in a --netns namespace needs it
    const cpFlags = { source: 'local', dist: distDir, port: xdsPort, statusPort, host: hostAddr, statusHost: '127.0.0.1', stateDir, endpoints: endpoints.file, ...xdsTls };
    await writeFile(join(stateDir, 'control-plane.json'), JSON.stringify(cpFlags));
    const cpUnit = new Supervised({
      name: 'control-plane', backoff: opts.backoff, onEvent, onChange: () => writeRun(),
      start: async () => {
        const child = new Child({ name: 'control-plane', argv: [...entries['control-plane'].argv, join(stateDir, 'control-plane.json')], env: entries['control-plane'].env, logFile: join(stateDir, 'logs', 'control-plane.log'), lifeline: true, reaper });
        try {
          await child.waitForJsonLine((v) => (v.ready === true ? true : undefined), readyTimeoutMs);
        } catch (e) {
          await child.kill();
          throw e;
        }
        return child;
      },
    });
    units.push(cpUnit);
    progress('starting the control plane');
    await cpUnit.first();

    const ctx: ReplicaContext = {
      // `local.command` paths are relative to the mesh file, wherever `weft up` was started.
      stateDir, projectDir: appBaseDir(app, projectDir), trustDomain: plan.mesh.trustDomain, xds: `${hostAddr}:${xdsPort}`, ca: `${hostAddr}:${caPort}`,
      mintToken: (id) => tokens.mint(id), sidecar: entries.sidecar, readyTimeoutMs, reaper, backoff: opts.backoff, onEvent, observability,
      ...(ca.tls && ca.trustAnchorFile ? { caTrustAnchorFile: ca.trustAnchorFile, xdsIdentity: ca.servingNames.spiffeId } : {}),
    };
    const replicas: RunningReplica[] = [];
    // a replica that is down leaves the endpoint set, as a pod that stops being ready would, and comes back once both parts are ready
    const replicaChanged = (r: RunningReplica) => {
      if (stopping) return;
      void (r.state() === 'running' ? endpoints.set(r.endpoint) : endpoints.delete(r.plan.id));
      writeRun();
    };
    progress(`starting ${plan.replicas.length} replicas: ${plan.replicas.map((r) => r.id).join(', ')}`);
    await Promise.all(plan.replicas.map(async (rp) => {
      const net = netns?.replica(rp.id);
      const [inbound, outbound, admin, ...appPorts] = net
        ? [15006, 15001, 15020, ...Object.values(rp.ports)]
        : await freePorts(3 + Object.keys(rp.ports).length);
      const ports: ReplicaPorts = { inbound, outbound, admin, app: Object.fromEntries(Object.keys(rp.ports).map((n, i) => [n, appPorts[i]])) };
      const r = await startReplica(net ? { ...ctx, address: net.address, wrap: net.wrap, probeApp: net.probe } : ctx, rp, ports, replicaChanged);
      replicas.push(r);
      units.push(r.units.sidecar, r.units.app);
      await endpoints.set(r.endpoint);
      progress(`  ${rp.id} ready (app :${Object.values(ports.app).join(',')}, sidecar admin ${r.adminUrl})`);
    }));

    let ingressProxy: LocalMesh['ingressProxy'];
    const ingresses: Ingress[] = [];
    if (plan.exposes.length) {
      progress('starting the ingress sidecar');
      const [inbound, outbound, admin] = await freePorts(3);
      const ports: ReplicaPorts = { inbound, outbound, admin, app: {} };
      const node = { id: 'weft-ingress-0', service: 'weft-ingress', namespace: plan.ingressNamespace, version: 'v1', serviceAccount: 'weft-ingress', observability: plan.observability };
      let adminUrl = '';
      const unit = new Supervised({
        name: 'weft-ingress-0.proxy', backoff: opts.backoff, onEvent, onChange: () => writeRun(),
        start: async () => {
          const side = await startSidecar(ctx, node, ports);
          adminUrl = side.adminUrl;
          return side.child;
        },
      });
      units.push(unit);
      const first = await unit.first();
      ingressProxy = { get child() { return unit.child; }, unit, adminUrl, ports };
      cleanup.push(() => unit.stop());
      for (const x of plan.exposes) {
        const ing = await startIngress(x, () => outbound);
        ingresses.push(ing);
        cleanup.push(() => ing.close());
      }
      // routable = the ingress reaches an app (any answer but the mesh's "no endpoint yet")
      for (const ing of ingresses) await first.waitUntil(() => routable(`${ing.url}/`), readyTimeoutMs, `routing ${ing.service} through the ingress`);
    }

    const supervision = (u: readonly Supervised[]): SupervisedRunInfo => ({
      state: u.every((x) => x.state === 'running') ? 'running' : 'down',
      restarts: u.reduce((n, x) => n + x.restarts, 0),
      pids: Object.fromEntries(u.flatMap((x) => { const st = x.status(); return st.pid === undefined ? [] : [[x.name.endsWith('.proxy') ? 'sidecar' : x.name === 'control-plane' ? 'control-plane' : 'app', st.pid]]; })),
    });
    const runInfo = (): RunInfo => ({
      pid: process.pid, startedAt, distDir, reaperPid: reaper.pid,
      controlPlane: { xds: ctx.xds, status: `http://127.0.0.1:${statusPort}`, ...supervision([cpUnit]) },
      ingresses: ingresses.map((i) => ({ service: i.service, namespace: i.namespace, url: i.url })),
      proxies: [
        ...replicas.map((r) => ({ id: r.plan.id, service: r.plan.service, namespace: r.plan.namespace, version: r.plan.version, admin: r.adminUrl, ...supervision([r.units.app, r.units.sidecar]) })),
        ...(ingressProxy ? [{ id: 'weft-ingress-0', service: 'weft-ingress', namespace: plan.ingressNamespace, version: 'v1', admin: ingressProxy.adminUrl, ...supervision([ingressProxy.unit]) }] : []),
      ],
    });
    const runFile = new LatestFile(join(stateDir, RUN_FILE));
    // the scrape config follows the running sidecars; a running Prometheus re-reads it after each rewrite
    const promFile = new LatestFile(join(stateDir, PROMETHEUS_CONFIG));
    let prometheus: RunningPrometheus | undefined;
    const writeScrape = async () => {
      const up = runInfo().proxies.filter((p) => p.state === 'running').map((p) => ({ id: p.id, namespace: p.namespace, admin: p.admin }));
      await promFile.write(prometheusConfig(up));
      prometheus?.reload();
    };
    writeRun = () => {
      if (stopping) return;
      void runFile.write(`${JSON.stringify(runInfo(), null, 2)}\n`);
      void writeScrape();
    };
    await runFile.write(`${JSON.stringify(runInfo(), null, 2)}\n`);
    await writeScrape();
    if (opts.prometheus) {
      progress('starting prometheus');
      const [port] = opts.prometheus.port ? [opts.prometheus.port] : await freePorts(1);
      prometheus = await startPrometheus(stateDir, port, { binary: opts.prometheus.binary, reaper, readyTimeoutMs });
      cleanup.push(() => prometheus!.stop());
      progress(`prometheus: ${prometheus.url}`);
    }

    const handle: LocalMesh = {
      stateDir, distDir, plan, ingresses, replicas, ingressProxy, reaperPid: reaper.pid,
      ...(prometheus ? { prometheus: { url: prometheus.url } } : {}),
      controlPlane: {
        xdsPort, statusPort, child: () => cpUnit.child, unit: cpUnit,
        kill: () => cpUnit.crash(),
        restart: () => cpUnit.restartNow(),
      },
      ingressUrl(service) {
        const i = service ? ingresses.find((x) => x.service === service) : ingresses[0];
        if (!i) throw new UpError(UP_ERRORS.expose, `nothing exposed${service ? ` for ${service}` : ''}; use --expose <service>=<port>`);
        return i.url;
      },
      async setCanaryWeights(route, weights, namespace) {
        await setCanaryWeights(distDir, { name: route, namespace: namespace ?? plan.replicas[0]?.namespace ?? 'default' }, weights);
      },
      async killReplica(id) {
        const r = replicas.find((x) => x.plan.id === id);
        if (!r) throw new UpError(UP_ERRORS.unknownProxy, `no replica ${id} (have ${replicas.map((x) => x.plan.id).join(', ')})`);
        await Promise.all([r.units.sidecar.crash(), r.units.app.crash()]);
        await endpoints.delete(id);
      },
      stop() {
        stopping ??= (async () => {
          await prometheus?.stop();
          progress('stopping: ingress');
          await Promise.all(ingresses.map((i) => i.close()));
          progress('stopping: sidecars (draining), then apps');
          await Promise.all([...replicas.map((r) => r.units.sidecar.stop()), ingressProxy?.unit.stop()]);
          await Promise.all(replicas.map((r) => r.units.app.stop()));
          progress('stopping: control plane');
          await cpUnit.stop();
          await ca.close();
          await netns?.destroy();
          await runFile.settled();
          await rm(join(stateDir, RUN_FILE), { force: true });
          process.removeListener('exit', killAll);
          reaper.close();
          progress('stopped');
        })();
        return stopping;
      },
    };
    return handle;
  } catch (e) {
    return fail(e);
  }
}

async function routable(url: string): Promise<boolean> {
  const http = await import('node:http');
  return new Promise((resolve) => {
    const req = http.get(url, { agent: false, timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode !== 503 && res.statusCode !== 502 && res.statusCode !== 504);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
  });
}

