/**
 * One replica as `weft up` runs it: the app process (PORT, HTTP_PROXY) and its sidecar (a bootstrap
 * file naming its loopback ports, the control plane, the CA and a one-time token). Ready when the
 * sidecar's /ready says so and the app accepts connections. Each of the two is supervised like a
 * container of a pod: restarted on its own with backoff (a restarted sidecar gets a fresh token).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Bootstrap } from '../../api/bootstrap';
import { bootstrapObservability, mergeObservability, type ObservabilitySpec } from '../../api/observability';
import type { EndpointModel } from '../../api/model';
import type { EntryCommand } from './bundle';
import { Child, httpOk, tcpOpen } from './child';
import type { Reaper } from './lifeline';
import type { ReplicaPlan } from './plan';
import { type BackoffPolicy, Supervised } from './supervise';

/** Ports of one sidecar (and its app). */
export interface ReplicaPorts {
  readonly inbound: number;
  readonly outbound: number;
  readonly admin: number;
  /** Port name → where the app listens. */
  readonly app: Readonly<Record<string, number>>;
}

/** Where a replica's files go and what it connects to. */
export interface ReplicaContext {
  readonly stateDir: string;
  /** Directory relative app commands run in (the project root). */
  readonly projectDir: string;
  readonly trustDomain: string;
  readonly xds: string;
  readonly ca: string;
  /** The CA's trust bundle (PEM file): the sidecars dial the CA over TLS and renew by certificate. @default none (plaintext CA, `--ca-insecure`) */
  readonly caTrustAnchorFile?: string;
  /** SPIFFE ID the control plane's xDS certificate carries (checked by each sidecar). @default any `…/sa/weft-control-plane` of the trust domain */
  readonly xdsIdentity?: string;
  /** Mints a one-time CA token for this identity. */
  readonly mintToken: (identity: { namespace: string; serviceAccount: string }) => string;
  readonly sidecar: EntryCommand;
  /** Address the sidecars listen on (loopback, or the namespace address in --netns mode). @default '127.0.0.1' */
  readonly address?: string;
  /** Wraps an argv to run inside a network namespace (netns mode). @default identity */
  readonly wrap?: (argv: readonly string[]) => readonly string[];
  /** Readiness probe of the app port. @default a TCP connect to `address`:port */
  readonly probeApp?: (port: number) => Promise<boolean>;
  /** Drain time of each sidecar. @default '5s' */
  readonly drainTimeout?: string;
  /** Time allowed to become ready. @default 30000 */
  readonly readyTimeoutMs?: number;
  /** Kills the children's process groups if weft up dies. @default none */
  readonly reaper?: Reaper;
  /** Restart schedule of crashed apps and sidecars. @default 1 s doubling to 30 s, reset after 60 s up */
  readonly backoff?: BackoffPolicy;
  /** Console line on each crash and restart. @default none */
  readonly onEvent?: (msg: string) => void;
  /** Tracing/access logs set on the command line (`--trace-to`, `--access-logs`), over each replica's own. @default none */
  readonly observability?: ObservabilitySpec;
}

/** A replica that is running. */
export interface RunningReplica {
  readonly plan: ReplicaPlan;
  readonly ports: ReplicaPorts;
  readonly address: string;
  /** The current app process (a new one after each restart). */
  readonly app?: Child;
  /** The current sidecar process. */
  readonly sidecar: Child;
  /** The supervisors of the two. */
  readonly units: { readonly app: Supervised; readonly sidecar: Supervised };
  readonly adminUrl: string;
  readonly bootstrapFile: string;
  /** The endpoint other sidecars dial (meshed, ready). */
  readonly endpoint: EndpointModel;
  /** `running` when app and sidecar both are, else `down`. */
  state(): 'running' | 'down';
  /** Restarts of the app plus restarts of the sidecar. */
  restarts(): number;
  /** Stops both for good (no restarts): sidecar first, so it drains while the app still answers. */
  stop(): Promise<void>;
}

/** Writes the bootstrap and token of `plan`, returns the bootstrap file. */
export async function writeBootstrap(ctx: ReplicaContext, plan: Pick<ReplicaPlan, 'id' | 'service' | 'namespace' | 'version' | 'serviceAccount' | 'observability'>, ports: ReplicaPorts): Promise<string> {
  const dir = join(ctx.stateDir, 'proxies', plan.id);
  await mkdir(dir, { recursive: true });
  const tokenPath = join(dir, 'token');
  await writeFile(tokenPath, ctx.mintToken({ namespace: plan.namespace, serviceAccount: plan.serviceAccount }), { mode: 0o600 });
  const bootstrap: Bootstrap = {
    node: { id: plan.id, service: plan.service, namespace: plan.namespace, version: plan.version, serviceAccount: plan.serviceAccount },
    controlPlane: { xds: ctx.xds, ca: ctx.ca, ...(ctx.xdsIdentity ? { xdsIdentity: ctx.xdsIdentity } : {}) },
    ports: { inbound: ports.inbound, outbound: ports.outbound, admin: ports.admin, app: { ...ports.app } },
    bindAddress: ctx.address ?? '127.0.0.1',
    interception: ctx.wrap ? 'iptables' : 'explicit',
    identity: { trustDomain: ctx.trustDomain, tokenPath, required: true, ...(ctx.caTrustAnchorFile ? { caTrustAnchorFile: ctx.caTrustAnchorFile, renewWithCertificate: true } : {}) },
    drainTimeout: ctx.drainTimeout ?? '5s',
    ...bootstrapObservability(mergeObservability(plan.observability, ctx.observability)),
  };
  const file = join(dir, 'bootstrap.json');
  await writeFile(file, `${JSON.stringify(bootstrap, null, 2)}\n`);
  return file;
}

/** Starts the sidecar of `plan` and waits for /ready. */
export async function startSidecar(ctx: ReplicaContext, plan: Pick<ReplicaPlan, 'id' | 'service' | 'namespace' | 'version' | 'serviceAccount' | 'observability'>, ports: ReplicaPorts): Promise<{ child: Child; bootstrapFile: string; adminUrl: string }> {
  const bootstrapFile = await writeBootstrap(ctx, plan, ports);
  const wrap = ctx.wrap ?? ((a) => a);
  const child = new Child({
    name: `${plan.id}.proxy`, argv: wrap([...ctx.sidecar.argv, bootstrapFile]), env: ctx.sidecar.env,
    logFile: join(ctx.stateDir, 'logs', `${plan.id}.proxy.log`), lifeline: true, reaper: ctx.reaper,
  });
  const adminUrl = `http://${ctx.address ?? '127.0.0.1'}:${ports.admin}`;
  try {
    await child.waitUntil(() => httpOk(`${adminUrl}/ready`), ctx.readyTimeoutMs ?? 30_000, 'becoming ready (config and certificate)');
  } catch (e) {
    await child.kill();
    throw e;
  }
  return { child, bootstrapFile, adminUrl };
}

/** Starts app + sidecar of `plan`, supervised; resolves when both are ready. `onChange` hears every state change after that. */
export async function startReplica(ctx: ReplicaContext, plan: ReplicaPlan, ports: ReplicaPorts, onChange: (r: RunningReplica) => void = () => undefined): Promise<RunningReplica> {
  const address = ctx.address ?? '127.0.0.1';
  const firstPort = Object.values(ports.app)[0];
  const portEnv = Object.fromEntries(Object.entries(ports.app).map(([n, p]) => [`PORT_${n.toUpperCase().replace(/-/g, '_')}`, String(p)]));
  const wrap = ctx.wrap ?? ((a) => a);
  const startApp = async (): Promise<Child> => {
    const app = new Child({
      name: plan.id, argv: wrap(plan.command), cwd: plan.cwd ? join(ctx.projectDir, plan.cwd) : ctx.projectDir,
      env: {
        ...plan.env, ...portEnv, PORT: String(firstPort),
        // netns mode: traffic is captured by iptables, so the app needs no proxy setting
        ...(ctx.wrap ? { HOST: '0.0.0.0', HTTP_PROXY: '', http_proxy: '' } : { HOST: '127.0.0.1', HTTP_PROXY: `http://127.0.0.1:${ports.outbound}`, http_proxy: `http://127.0.0.1:${ports.outbound}` }),
        NO_PROXY: '', WEFT_SERVICE: plan.service, WEFT_NAMESPACE: plan.namespace, WEFT_VERSION: plan.version, WEFT_REPLICA: String(plan.index),
      },
      logFile: join(ctx.stateDir, 'logs', `${plan.id}.log`), reaper: ctx.reaper,
    });
    try {
      await app.waitUntil(() => (ctx.probeApp ? ctx.probeApp(firstPort) : tcpOpen(address, firstPort)), ctx.readyTimeoutMs ?? 30_000, `listening on PORT ${firstPort}`);
    } catch (e) {
      await app.kill();
      throw e;
    }
    return app;
  };
  let bootstrapFile = '';
  let replica: RunningReplica | undefined;
  const changed = () => { if (replica) onChange(replica); };
  const units = {
    app: new Supervised({ name: plan.id, start: startApp, backoff: ctx.backoff, onEvent: ctx.onEvent, onChange: changed }),
    sidecar: new Supervised({
      name: `${plan.id}.proxy`, backoff: ctx.backoff, onEvent: ctx.onEvent, onChange: changed,
      start: async () => {
        const side = await startSidecar(ctx, plan, ports);
        bootstrapFile = side.bootstrapFile;
        return side.child;
      },
    }),
  };
  const [sideResult, appResult] = await Promise.allSettled([units.sidecar.first(), units.app.first()]);
  if (sideResult.status === 'rejected' || appResult.status === 'rejected') {
    await Promise.all([units.app.stop(), units.sidecar.stop()]);
    throw sideResult.status === 'rejected' ? sideResult.reason : (appResult as PromiseRejectedResult).reason;
  }
  const endpoint: EndpointModel = {
    service: plan.service, namespace: plan.namespace, version: plan.version, address,
    // other sidecars dial the inbound port (loopback), or the app port that iptables redirects (netns)
    ports: ctx.wrap ? { ...ports.app } : Object.fromEntries(Object.keys(ports.app).map((n) => [n, ports.inbound])),
    ready: true, instance: plan.id, meshed: true,
  };
  replica = {
    plan, ports, address, units, endpoint,
    adminUrl: `http://${address}:${ports.admin}`,
    get app() { return units.app.child; },
    get sidecar() { return units.sidecar.child; },
    get bootstrapFile() { return bootstrapFile; },
    state: () => (units.app.state === 'running' && units.sidecar.state === 'running' ? 'running' : 'down'),
    restarts: () => units.app.restarts + units.sidecar.restarts,
    async stop() {
      await units.sidecar.stop();
      await units.app.stop();
    },
  };
  return replica;
}
