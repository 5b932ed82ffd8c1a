/**
 * One replica as `weft up` runs it: the app process (PORT, HTTP_PROXY) and its sidecar (a bootstrap
 * file naming its loopback ports, the control plane, the CA and a one-time token). Ready when the
 * sidecar's /ready says so and the app accepts connections.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Bootstrap } from '../../api/bootstrap';
import type { EndpointModel } from '../../api/model';
import type { EntryCommand } from './bundle';
import { Child, httpOk, tcpOpen } from './child';
import type { ReplicaPlan } from './plan';

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
}

/** A replica that is running. */
export interface RunningReplica {
  readonly plan: ReplicaPlan;
  readonly ports: ReplicaPorts;
  readonly address: string;
  readonly app?: Child;
  readonly sidecar: Child;
  readonly adminUrl: string;
  readonly bootstrapFile: string;
  /** The endpoint other sidecars dial (meshed, ready). */
  readonly endpoint: EndpointModel;
}

/** Writes the bootstrap and token of `plan`, returns the bootstrap file. */
export async function writeBootstrap(ctx: ReplicaContext, plan: Pick<ReplicaPlan, 'id' | 'service' | 'namespace' | 'version' | 'serviceAccount'>, ports: ReplicaPorts): Promise<string> {
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
  };
  const file = join(dir, 'bootstrap.json');
  await writeFile(file, `${JSON.stringify(bootstrap, null, 2)}\n`);
  return file;
}

/** Starts the sidecar of `plan` and waits for /ready. */
export async function startSidecar(ctx: ReplicaContext, plan: Pick<ReplicaPlan, 'id' | 'service' | 'namespace' | 'version' | 'serviceAccount'>, ports: ReplicaPorts): Promise<{ child: Child; bootstrapFile: string; adminUrl: string }> {
  const bootstrapFile = await writeBootstrap(ctx, plan, ports);
  const wrap = ctx.wrap ?? ((a) => a);
  const child = new Child({
    name: `${plan.id}.proxy`, argv: wrap([...ctx.sidecar.argv, bootstrapFile]), env: ctx.sidecar.env,
    logFile: join(ctx.stateDir, 'logs', `${plan.id}.proxy.log`),
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

/** Starts app + sidecar of `plan`; resolves when both are ready. */
export async function startReplica(ctx: ReplicaContext, plan: ReplicaPlan, ports: ReplicaPorts): Promise<RunningReplica> {
  const address = ctx.address ?? '127.0.0.1';
  const firstPort = Object.values(ports.app)[0];
  const portEnv = Object.fromEntries(Object.entries(ports.app).map(([n, p]) => [`PORT_${n.toUpperCase().replace(/-/g, '_')}`, String(p)]));
  const wrap = ctx.wrap ?? ((a) => a);
  const app = new Child({
    name: plan.id, argv: wrap(plan.command), cwd: plan.cwd ? join(ctx.projectDir, plan.cwd) : ctx.projectDir,
    env: {
      ...plan.env, ...portEnv, PORT: String(firstPort),
      // netns mode: traffic is captured by iptables, so the app needs no proxy setting
      ...(ctx.wrap ? { HOST: '0.0.0.0', HTTP_PROXY: '', http_proxy: '' } : { HOST: '127.0.0.1', HTTP_PROXY: `http://127.0.0.1:${ports.outbound}`, http_proxy: `http://127.0.0.1:${ports.outbound}` }),
      NO_PROXY: '', WEFT_SERVICE: plan.service, WEFT_NAMESPACE: plan.namespace, WEFT_VERSION: plan.version, WEFT_REPLICA: String(plan.index),
    },
    logFile: join(ctx.stateDir, 'logs', `${plan.id}.log`),
  });
  const [sideResult, appResult] = await Promise.allSettled([
    startSidecar(ctx, plan, ports),
    app.waitUntil(() => (ctx.probeApp ? ctx.probeApp(firstPort) : tcpOpen(address, firstPort)), ctx.readyTimeoutMs ?? 30_000, `listening on PORT ${firstPort}`),
  ]);
  if (sideResult.status === 'rejected' || appResult.status === 'rejected') {
    await app.kill();
    if (sideResult.status === 'fulfilled') await sideResult.value.child.kill();
    throw sideResult.status === 'rejected' ? sideResult.reason : (appResult as PromiseRejectedResult).reason;
  }
  const side = sideResult.value;
  const endpoint: EndpointModel = {
    service: plan.service, namespace: plan.namespace, version: plan.version, address,
    // other sidecars dial the inbound port (loopback), or the app port that iptables redirects (netns)
    ports: ctx.wrap ? { ...ports.app } : Object.fromEntries(Object.keys(ports.app).map((n) => [n, ports.inbound])),
    ready: true, instance: plan.id, meshed: true,
  };
  return { plan, ports, address, app, sidecar: side.child, adminUrl: side.adminUrl, bootstrapFile: side.bootstrapFile, endpoint };
}
