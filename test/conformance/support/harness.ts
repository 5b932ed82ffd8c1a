/**
 * Conformance harness: manifests and endpoint files written the way `weft up` reads them, the
 * grpc-js-xds client and (optionally) the control plane as child processes, and bounded polling
 * on observable state (never sleeps used as synchronization).
 */
import { ChildProcess, fork, spawn } from 'child_process';
import { mkdtempSync, renameSync, writeFileSync } from 'fs';
import * as http from 'http';
import { tmpdir } from 'os';
import * as path from 'path';
import { stringify } from 'yaml';

const TS_NODE = ['-r', 'ts-node/register/transpile-only'];
const A = 'weft.dev/v1alpha1';

/** A fresh temp directory layout for one scenario file. */
export function scenarioDirs(): { root: string; dir: string; endpointsFile: string; statusFile: string } {
  const root = mkdtempSync(path.join(tmpdir(), 'weft-conf-'));
  const dir = path.join(root, 'dist');
  require('fs').mkdirSync(dir);
  return { root, dir, endpointsFile: path.join(root, 'endpoints.json'), statusFile: path.join(root, 'status.json') };
}

function atomicWrite(file: string, body: string): void {
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, body);
  renameSync(tmp, file);
}

/** The echo mesh: MeshService echo (v1, v2 or only v1) plus an optional weighted CanaryRoute. */
export function echoMesh(opts: { versions?: string[]; weights?: Record<string, number>; http?: boolean }): object[] {
  const versions = opts.versions ?? ['v1', 'v2'];
  const port = opts.http ? { name: 'http', port: 8080, protocol: 'http' } : { name: 'grpc', port: 50051, protocol: 'grpc' };
  const docs: object[] = [{
    apiVersion: A, kind: 'MeshService', metadata: { name: 'echo', namespace: 'default' },
    spec: { serviceAccount: 'echo', interception: 'explicit', ports: [port], versions: versions.map((name) => ({ name, replicas: 1 })) },
  }];
  if (opts.http) {
    // The caller whose sidecar is the xDS client in the sidecar scenarios.
    docs.push({
      apiVersion: A, kind: 'MeshService', metadata: { name: 'web', namespace: 'default' },
      spec: { serviceAccount: 'web', interception: 'explicit', ports: [{ name: 'http', port: 8080, protocol: 'http' }], versions: [{ name: 'v1', replicas: 1 }], calls: [{ name: 'echo' }] },
    });
  }
  if (opts.weights) {
    docs.push({
      apiVersion: A, kind: 'CanaryRoute', metadata: { name: 'echo-split', namespace: 'default' },
      spec: { service: { name: 'echo' }, routes: [{ backends: Object.entries(opts.weights).map(([version, weight]) => ({ version, weight })) }] },
    });
  }
  return docs;
}

/** Writes `docs` as dist/mesh.yaml (atomically, so the watcher never reads half a file). */
export function writeMesh(dir: string, docs: object[]): void {
  atomicWrite(path.join(dir, 'mesh.yaml'), docs.map((d) => stringify(d)).join('---\n'));
}

/** Writes the static endpoints file: one endpoint per backend. */
export function writeEndpoints(file: string, backends: { version: string; port: number }[], portName = 'grpc'): void {
  atomicWrite(file, JSON.stringify(backends.map((b, i) => ({
    service: 'echo', namespace: 'default', version: b.version, address: '127.0.0.1', ports: { [portName]: b.port }, ready: true, instance: `echo-${b.version}-${i}`, meshed: false,
  }))));
}

/** Result of a batch of RPCs. */
export interface RunResult { counts: Record<string, number>; errors: Record<string, number>; total: number }

/** The grpc-js-xds client child. */
export interface XdsClientChild {
  run(opts: { n?: number; durationMs?: number; concurrency?: number; deadlineMs?: number }): Promise<RunResult>;
  close(): Promise<void>;
}

/** Forks the unmodified grpc-js-xds client with a bootstrap pointing at 127.0.0.1:`xdsPort`. */
export async function startXdsClient(xdsPort: number, nodeId: string, target = 'xds:///echo.default'): Promise<XdsClientChild> {
  const bootstrap = {
    xds_servers: [{ server_uri: `127.0.0.1:${xdsPort}`, channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] }],
    node: { id: nodeId, locality: {} },
  };
  const child = fork(path.join(__dirname, 'xds-client-child.ts'), [target], {
    execArgv: TS_NODE,
    env: { ...process.env, GRPC_XDS_BOOTSTRAP_CONFIG: JSON.stringify(bootstrap) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  await new Promise<void>((resolve, reject) => {
    child.once('message', () => resolve());
    child.once('exit', (code) => reject(new Error(`xds client exited early (${code})`)));
  });
  let seq = 0;
  return {
    run: (o) => new Promise<RunResult>((resolve, reject) => {
      const id = ++seq;
      const onMsg = (m: RunResult & { id: number; fatal?: string }) => {
        if (m.id !== id) return;
        child.off('message', onMsg);
        if (m.fatal) reject(new Error(m.fatal)); else resolve(m);
      };
      child.on('message', onMsg);
      child.send({ id, cmd: 'run', n: o.n ?? 0, durationMs: o.durationMs, concurrency: o.concurrency ?? 20, deadlineMs: o.deadlineMs ?? 30_000 }); // generous: a deadline only stops a hung RPC
    }),
    close: () => new Promise<void>((resolve) => {
      if (child.exitCode !== null) return resolve();
      const t = setTimeout(() => child.kill('SIGKILL'), 2000);
      child.once('exit', () => { clearTimeout(t); resolve(); });
      child.send({ cmd: 'exit' });
    }),
  };
}

/** The control plane child. */
export interface CpChild {
  readonly port: number;
  readonly statusPort: number;
  readonly process: ChildProcess;
  status(): Promise<StatusJson>;
  kill9(): Promise<void>;
}

/** What GET /status returns (the parts the tests read). */
export interface StatusJson {
  clients: { node: { id: string; streamId: number }; types: Record<string, { sentVersion?: string; ackedVersion?: string; pending: boolean }> }[];
  nacked: { typeUrl: string; name: string; error?: string }[];
}

/** Starts the control plane as a child process (ADS on `port`, 0 = pick). */
export async function startCpChild(d: { dir: string; endpointsFile: string; statusFile: string }, port = 0): Promise<CpChild> {
  const child = spawn(process.execPath, [...TS_NODE, path.join(__dirname, 'cp-child.ts'), d.dir, d.endpointsFile, d.statusFile, String(port)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const ports = await new Promise<{ port: number; statusPort: number }>((resolve, reject) => {
    let buf = '';
    child.stdout!.on('data', (c: Buffer) => {
      buf += c.toString();
      const nl = buf.indexOf('\n');
      if (nl >= 0) resolve(JSON.parse(buf.slice(0, nl)));
    });
    child.once('exit', (code) => reject(new Error(`control plane exited early (${code})`)));
  });
  return {
    ...ports,
    process: child,
    status: () => new Promise<StatusJson>((resolve, reject) => {
      http.get({ host: '127.0.0.1', port: ports.statusPort, path: '/status' }, (res) => {
        let body = '';
        res.on('data', (c) => { body += c; });
        res.on('end', () => { try { resolve(JSON.parse(body)); } catch (e) { reject(e); } });
      }).on('error', reject);
    }),
    kill9: () => new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGKILL');
    }),
  };
}

/**
 * Polls `cond` every 25 ms until it holds or `timeoutMs` passes (then throws with `what`). A `cond`
 * that throws counts as "not yet" (a /status read while the control plane restarts may be reset);
 * the last such error is in the timeout message.
 */
export async function waitFor<T>(what: string, cond: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 120_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    let v: T | undefined | false = undefined;
    try {
      v = await cond();
    } catch (e) {
      lastError = e;
    }
    if (v) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}${lastError ? ` (last error: ${(lastError as Error).message})` : ''}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export const RDS = 'type.googleapis.com/envoy.config.route.v3.RouteConfiguration';
export const LDS = 'type.googleapis.com/envoy.config.listener.v3.Listener';
