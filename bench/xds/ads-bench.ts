/**
 * xDS benchmark: N simulated sidecars on the real ADS server (child process), one CanaryRoute
 * change, time until every client has ACKed the new route config (p50/p99/max), and the control
 * plane's CPU time and memory. Run:
 *   npx ts-node --transpile-only bench/xds/ads-bench.ts --clients 1000 --services 10 --endpoints 100
 *   npx ts-node --transpile-only bench/xds/ads-bench.ts --clients 1000 --services 1000 --endpoints 10000
 * Clients share `--channels` HTTP/2 connections (default 100), as many sidecars behind few nodes would not; it keeps the
 * benchmark host's own cost down.
 */
import * as grpc from '@grpc/grpc-js';
import { fork } from 'child_process';
import * as path from 'path';
import { SimClient } from './sim-client';

const arg = (name: string, def: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
};
const CLIENTS = arg('clients', 1000);
const SERVICES = arg('services', 10);
const ENDPOINTS = arg('endpoints', 100);
const CHANNELS = arg('channels', 100);
const A = 'weft.dev/v1alpha1';

function mesh(canaryWeight: number): { resources: object[]; endpoints: object[] } {
  const resources: object[] = [{
    apiVersion: A, kind: 'MeshService', metadata: { name: 'client', namespace: 'default' },
    spec: { serviceAccount: 'client', interception: 'explicit', ports: [{ name: 'http', port: 8080, protocol: 'http' }], versions: [{ name: 'v1', replicas: 1 }] },
  }];
  for (let i = 0; i < SERVICES; i++) {
    resources.push({
      apiVersion: A, kind: 'MeshService', metadata: { name: `svc-${i}`, namespace: 'default' },
      spec: { serviceAccount: `svc-${i}`, interception: 'explicit', ports: [{ name: 'http', port: 8080, protocol: 'http' }], versions: [{ name: 'v1', replicas: 1 }, { name: 'v2', replicas: 1 }] },
    });
  }
  resources.push({
    apiVersion: A, kind: 'CanaryRoute', metadata: { name: 'canary', namespace: 'default' },
    spec: { service: { name: 'svc-0' }, routes: [{ backends: [{ version: 'v1', weight: 100 - canaryWeight }, { version: 'v2', weight: canaryWeight }] }] },
  });
  const endpoints = Array.from({ length: ENDPOINTS }, (_, i) => ({
    service: `svc-${i % SERVICES}`, namespace: 'default', version: i % 2 ? 'v2' : 'v1', address: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
    ports: { http: 15006 }, ready: true, instance: `ep-${i}`, meshed: true,
  }));
  return { resources, endpoints };
}

const pct = (xs: number[], p: number) => xs[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];

async function main(): Promise<void> {
  const child = fork(path.join(__dirname, 'cp-child.ts'), [], { execArgv: ['-r', 'ts-node/register/transpile-only'] });
  const next = (cmd: string) => new Promise<Record<string, unknown>>((resolve) => {
    const on = (m: Record<string, unknown>) => { if (m.cmd === cmd) { child.off('message', on); resolve(m); } };
    child.on('message', on);
  });
  const ready = await next('ready');
  const built1 = next('model');
  child.send({ cmd: 'model', ...mesh(10) });
  const b1 = await built1;
  const base = await (async () => { const s = next('stats'); child.send({ cmd: 'stats' }); return s; })();
  const channels = Array.from({ length: CHANNELS }, () => new grpc.Client(`127.0.0.1:${ready.port}`, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 }));
  const t0 = Date.now();
  const clients = Array.from({ length: CLIENTS }, (_, i) => new SimClient(channels[i % CHANNELS], `sim-${i}`, 'client'));
  const all = () => clients.every((c) => c.received.size === 4 && c.rdsAcks.size > 0);
  while (!all()) await new Promise((r) => setTimeout(r, 20));
  const connectMs = Date.now() - t0;
  const before = await (async () => { const s = next('stats'); child.send({ cmd: 'stats' }); return s; })();

  const versionsBefore = clients.map((c) => new Set(c.rdsAcks.keys()));
  const built2 = next('model');
  const tChange = Date.now();
  child.send({ cmd: 'model', ...mesh(50) });
  const b2 = await built2;
  const acked = () => clients.map((c, i) => [...c.rdsAcks].find(([v]) => !versionsBefore[i].has(v))?.[1]);
  while (acked().some((t) => t === undefined)) await new Promise((r) => setTimeout(r, 5));
  const lat = acked().map((t) => t! - tChange).sort((a, b) => a - b);
  const after = await (async () => { const s = next('stats'); child.send({ cmd: 'stats' }); return s; })();
  const cpu = (s: Record<string, unknown>) => { const c = s.cpu as { user: number; system: number }; return (c.user + c.system) / 1000; };
  const mem = (s: Record<string, unknown>) => Math.round((s.mem as { rss: number }).rss / 1048576);
  console.log(JSON.stringify({
    clients: CLIENTS, services: SERVICES, endpoints: ENDPOINTS, channels: CHANNELS,
    initialBuildMs: Math.round(b1.buildMs as number), rejectedResources: b1.rejected, connectAllMs: connectMs,
    // buildModel + setModel, which synchronously renders and writes to every stream.
    changeBuildAndPushMs: Math.round(b2.buildMs as number),
    ackMs: { p50: pct(lat, 50), p99: pct(lat, 99), max: lat[lat.length - 1] },
    cpCpuMs: { connect: Math.round(cpu(before) - cpu(base)), change: Math.round(cpu(after) - cpu(before)) },
    cpRssMiB: { idle: mem(base), afterConnect: mem(before), afterChange: mem(after) },
  }, null, 2));
  for (const c of clients) c.close();
  for (const ch of channels) ch.close();
  child.send({ cmd: 'exit' });
}

main().catch((e) => { console.error(e); process.exit(1); });
