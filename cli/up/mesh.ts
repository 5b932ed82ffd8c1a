/**
 * startLocalMesh(): the whole mesh on one machine. Synthesize in-process into `.weft/dist`, run the
 * CA in this process (it mints each sidecar's one-time token), the control plane as a child with
 * the local source, then every replica (app + sidecar) and the `--expose` ingresses. `stop()`
 * drains in order: ingress, sidecars, apps, control plane.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { EndpointModel } from '../../api/model';
import { readManifests, startCa, type BootstrapTokenAuthenticator, type RunningCa } from '../../control-plane';
import { prepareEntries, WEFT_ROOT } from './bundle';
import { Child } from './child';
import { UP_ERRORS, UpError } from './errors';
import { Ingress, startIngress } from './ingress';
import { MeshPlan, planMesh } from './plan';
import { assertBindable, freePorts } from './ports';
import { ReplicaContext, ReplicaPorts, RunningReplica, startReplica, startSidecar } from './replica';
import { RUN_FILE, RunInfo } from './run-info';
import { DEFAULT_APP, setCanaryWeights, synthesize, writeAtomic } from './synth';

/** Options of startLocalMesh(). */
export interface LocalMeshOptions {
  /** The app: `path/to/mesh.ts[#export]` or a directory of manifests. @default the bookinfo example */
  readonly app?: string;
  /** Second argument of the mesh function. @default {} */
  readonly appProps?: Record<string, unknown>;
  /** `--expose` values (`productpage=9080`). @default none */
  readonly exposes?: readonly string[];
  /** State, certificates, logs. @default `<projectDir>/.weft` */
  readonly stateDir?: string;
  /** Where relative paths (app, local commands) start. @default process.cwd() */
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
}

/** A running local mesh. */
export interface LocalMesh {
  readonly stateDir: string;
  readonly distDir: string;
  readonly plan: MeshPlan;
  readonly ingresses: readonly Ingress[];
  readonly replicas: readonly RunningReplica[];
  /** The ingress sidecar (present when something is exposed). */
  readonly ingressProxy?: { readonly child: Child; readonly adminUrl: string; readonly ports: ReplicaPorts };
  readonly controlPlane: ControlPlaneHandle;
  /** URL of the ingress of `service` (the first one when omitted). */
  ingressUrl(service?: string): string;
  /** Sets the catch-all split of a CanaryRoute in `.weft/dist` (the control plane picks it up). */
  setCanaryWeights(route: string, weights: Readonly<Record<string, number>>, namespace?: string): Promise<void>;
  /** Crashes one replica (SIGKILL app and sidecar) and drops its endpoint, as a dying pod would. */
  killReplica(id: string): Promise<void>;
  /** Graceful stop: ingress, sidecars, apps, control plane, CA. Idempotent. */
  stop(): Promise<void>;
}

/** The control-plane child. */
export interface ControlPlaneHandle {
  readonly xdsPort: number;
  readonly statusPort: number;
  readonly child: () => Child;
  /** SIGKILL (a crash). */
  kill(): Promise<void>;
  /** Starts it again on the same ports. */
  restart(): Promise<void>;
}

/** Serializes writes of the static endpoints file (weft up's registry of ready replicas). */
class EndpointsFile {
  readonly #eps = new Map<string, EndpointModel>();
  #chain: Promise<void> = Promise.resolve();
  constructor(readonly file: string) {}
  set(ep: EndpointModel): Promise<void> { this.#eps.set(ep.instance, ep); return this.#flush(); }
  delete(instance: string): Promise<void> { this.#eps.delete(instance); return this.#flush(); }
  #flush(): Promise<void> {
    const text = `${JSON.stringify([...this.#eps.values()], null, 2)}\n`;
    this.#chain = this.#chain.then(() => writeAtomic(this.file, text));
    return this.#chain;
  }
}

/** Starts everything; rejects (after cleaning up) with a coded UpError when any part fails. */
export async function startLocalMesh(opts: LocalMeshOptions = {}): Promise<LocalMesh> {
  const projectDir = resolve(opts.projectDir ?? process.cwd());
  const stateDir = resolve(opts.stateDir ?? join(projectDir, '.weft'));
  const progress = opts.onProgress ?? (() => undefined);
  const readyTimeoutMs = opts.readyTimeoutMs ?? 30_000;
  for (const d of ['logs', 'proxies', 'bin']) await mkdir(join(stateDir, d), { recursive: true });

  progress('synthesizing');
  const app = opts.app ?? join(WEFT_ROOT, DEFAULT_APP);
  const distDir = await synthesize({ app, props: opts.appProps, outdir: join(stateDir, 'dist'), cwd: projectDir });
  const plan = planMesh(await readManifests(distDir), opts.exposes ?? []);
  // a busy --expose port fails now, not after every replica has started
  for (const x of plan.exposes) if (x.listenPort !== 0) await assertBindable(x.listenPort);
  const entries = await prepareEntries(join(stateDir, 'bin'), opts.bundle ?? true);

  const cleanup: (() => Promise<void>)[] = [];
  const children: Child[] = [];
  const killAll = () => { for (const c of children) if (c.running) c.proc.kill('SIGKILL'); };
  process.once('exit', killAll);
  const fail = async (e: unknown): Promise<never> => {
    for (const c of cleanup.reverse()) await c().catch(() => undefined);
    killAll();
    process.removeListener('exit', killAll);
    throw e;
  };

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
    const cpFlags = { source: 'local', dist: distDir, port: xdsPort, statusPort, host: hostAddr, stateDir, endpoints: endpoints.file, ...xdsTls };
    await writeFile(join(stateDir, 'control-plane.json'), JSON.stringify(cpFlags));
    let cp!: Child;
    const startCp = async () => {
      cp = new Child({ name: 'control-plane', argv: [...entries['control-plane'].argv, join(stateDir, 'control-plane.json')], env: entries['control-plane'].env, logFile: join(stateDir, 'logs', 'control-plane.log') });
      children.push(cp);
      await cp.waitForJsonLine((v) => (v.ready === true ? true : undefined), readyTimeoutMs);
    };
    progress('starting the control plane');
    await startCp();
    cleanup.push(() => cp.stop());

    const ctx: ReplicaContext = {
      stateDir, projectDir, trustDomain: plan.mesh.trustDomain, xds: `${hostAddr}:${xdsPort}`, ca: `${hostAddr}:${caPort}`,
      mintToken: (id) => tokens.mint(id), sidecar: entries.sidecar, readyTimeoutMs,
      ...(ca.tls && ca.trustAnchorFile ? { caTrustAnchorFile: ca.trustAnchorFile, xdsIdentity: ca.servingNames.spiffeId } : {}),
    };
    const replicas: RunningReplica[] = [];
    const stopReplicas = async () => {
      await Promise.all(replicas.map((r) => r.sidecar.stop()));
      await Promise.all(replicas.map((r) => r.app?.stop()));
    };
    cleanup.push(stopReplicas);
    progress(`starting ${plan.replicas.length} replicas: ${plan.replicas.map((r) => r.id).join(', ')}`);
    await Promise.all(plan.replicas.map(async (rp) => {
      const net = netns?.replica(rp.id);
      const [inbound, outbound, admin, ...appPorts] = net
        ? [15006, 15001, 15020, ...Object.values(rp.ports)]
        : await freePorts(3 + Object.keys(rp.ports).length);
      const ports: ReplicaPorts = { inbound, outbound, admin, app: Object.fromEntries(Object.keys(rp.ports).map((n, i) => [n, appPorts[i]])) };
      const r = await startReplica(net ? { ...ctx, address: net.address, wrap: net.wrap, probeApp: net.probe } : ctx, rp, ports);
      replicas.push(r);
      children.push(r.sidecar, ...(r.app ? [r.app] : []));
      await endpoints.set(r.endpoint);
      progress(`  ${rp.id} ready (app :${Object.values(ports.app).join(',')}, sidecar admin ${r.adminUrl})`);
      // a replica that dies leaves the endpoint set, as a pod that stops being ready would
      for (const c of [r.sidecar, r.app]) void c?.exited.then(() => { if (!c.stopping) void endpoints.delete(rp.id); });
    }));

    let ingressProxy: LocalMesh['ingressProxy'];
    const ingresses: Ingress[] = [];
    if (plan.exposes.length) {
      progress('starting the ingress sidecar');
      const [inbound, outbound, admin] = await freePorts(3);
      const ports: ReplicaPorts = { inbound, outbound, admin, app: {} };
      const node = { id: 'weft-ingress-0', service: 'weft-ingress', namespace: plan.ingressNamespace, version: 'v1', serviceAccount: 'weft-ingress' };
      const side = await startSidecar(ctx, node, ports);
      children.push(side.child);
      ingressProxy = { child: side.child, adminUrl: side.adminUrl, ports };
      cleanup.push(() => side.child.stop());
      for (const x of plan.exposes) {
        const ing = await startIngress(x, () => outbound);
        ingresses.push(ing);
        cleanup.push(() => ing.close());
      }
      // routable = the ingress reaches an app (any answer but the mesh's "no endpoint yet")
      for (const ing of ingresses) await side.child.waitUntil(() => routable(`${ing.url}/`), readyTimeoutMs, `routing ${ing.service} through the ingress`);
    }

    const info: RunInfo = {
      pid: process.pid, startedAt: new Date().toISOString(), distDir, controlPlane: { xds: ctx.xds, status: `http://${hostAddr}:${statusPort}` },
      ingresses: ingresses.map((i) => ({ service: i.service, namespace: i.namespace, url: i.url })),
      proxies: [
        ...replicas.map((r) => ({ id: r.plan.id, service: r.plan.service, namespace: r.plan.namespace, version: r.plan.version, admin: r.adminUrl })),
        ...(ingressProxy ? [{ id: 'weft-ingress-0', service: 'weft-ingress', namespace: plan.ingressNamespace, version: 'v1', admin: ingressProxy.adminUrl }] : []),
      ],
    };
    await writeFile(join(stateDir, RUN_FILE), `${JSON.stringify(info, null, 2)}\n`);

    let stopping: Promise<void> | undefined;
    const handle: LocalMesh = {
      stateDir, distDir, plan, ingresses, replicas, ingressProxy,
      controlPlane: {
        xdsPort, statusPort, child: () => cp,
        kill: () => cp.kill(),
        restart: async () => { if (cp.running) await cp.stop(); await startCp(); },
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
        await Promise.all([r.sidecar.kill(), r.app?.kill()]);
        await endpoints.delete(id);
      },
      stop() {
        stopping ??= (async () => {
          progress('stopping: ingress');
          await Promise.all(ingresses.map((i) => i.close()));
          progress('stopping: sidecars (draining), then apps');
          await Promise.all([...replicas.map((r) => r.sidecar.stop()), ingressProxy?.child.stop()]);
          await Promise.all(replicas.map((r) => r.app?.stop()));
          progress('stopping: control plane');
          await cp.stop();
          await ca.close();
          await netns?.destroy();
          await rm(join(stateDir, RUN_FILE), { force: true });
          process.removeListener('exit', killAll);
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

