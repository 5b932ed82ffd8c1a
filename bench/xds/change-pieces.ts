/**
 * In-process cost of one CanaryRoute change, piece by piece (no streams, no clients): buildModel,
 * translate of the sidecar view, buildSnapshot through a warm EncodeCache, and for reference the
 * JSON of every resource and the whole-RouteConfiguration strict encode the cache avoids. Run:
 *   npx ts-node --transpile-only bench/xds/change-pieces.ts --services 1000 --endpoints 10000 --changes 20
 * (`--warmup 1 --changes 1`: the first change after the initial model, as the control plane sees it).
 */
import { buildModel } from '../../api/build-model';
import { translate, ClientKind } from '../../api/translate';
import { encodeResource } from '../../api/xds/codec';
import { ROUTE } from '../../api/xds/protos';
import { buildSnapshot, EncodeCache } from '../../control-plane/xds/snapshot';
import { writeFileSync } from 'fs';
import { Session } from 'inspector';
import { benchMesh } from './mesh';

const arg = (name: string, def: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
};
const SERVICES = arg('services', 1000);
const ENDPOINTS = arg('endpoints', 10000);
const CHANGES = arg('changes', 20);
// Changes before measuring (JIT, the cache's first generations); a control plane sees few changes, so 1 is realistic too.
const WARMUP = arg('warmup', 3);
// `--prof <file>`: a CPU profile of the measured buildSnapshot calls only.
const PROF = (() => { const i = process.argv.indexOf('--prof'); return i > 0 ? process.argv[i + 1] : undefined; })();
const session = new Session();
const post = (method: string) => new Promise<unknown>((resolve, reject) => session.post(method, (err, r) => (err ? reject(err) : resolve(r))));
const client: ClientKind = { kind: 'sidecar', node: { service: 'client', namespace: 'default', version: '' } };

const time = <T>(fn: () => T): [T, number] => { const t0 = process.hrtime.bigint(); const r = fn(); return [r, Number(process.hrtime.bigint() - t0) / 1e6]; };
const samples: Record<string, number[]> = {};
const record = (k: string, ms: number) => (samples[k] ??= []).push(ms);

async function main(): Promise<void> {
const cache = new EncodeCache();
if (PROF) { session.connect(); await post('Profiler.enable'); }
for (let i = 0; i < CHANGES + WARMUP; i++) {
  const { resources, endpoints } = benchMesh(SERVICES, ENDPOINTS, i % 2 ? 50 : 10);
  const [{ model }, buildMs] = time(() => buildModel(resources as never[], endpoints as never[]));
  const [x, translateMs] = time(() => translate(model, client));
  cache.rotate();
  if (PROF && i >= WARMUP) await post('Profiler.start');
  const [, snapMs] = time(() => buildSnapshot(x, cache));
  if (PROF && i >= WARMUP) profiles.push(((await post('Profiler.stop')) as { profile: unknown }).profile);
  const all = [...x.listeners, ...x.routes, ...x.clusters, ...x.endpoints];
  const [, jsonMs] = time(() => { let n = 0; for (const r of all) n += JSON.stringify(r).length; return n; });
  const [, routeMs] = time(() => x.routes.map((r) => encodeResource(ROUTE, r)));
  if (i < WARMUP) continue;
  record('buildModel', buildMs);
  record('translate', translateMs);
  record('buildSnapshot (warm cache)', snapMs);
  record('  ref: JSON.stringify of all resources', jsonMs);
  record('  ref: encodeResource of the whole RouteConfiguration', routeMs);
}
if (PROF) writeFileSync(PROF, JSON.stringify(profiles[profiles.length - 1]));
}
const profiles: unknown[] = [];
const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
main().then(() => { for (const [k, xs] of Object.entries(samples)) console.log(`${k.padEnd(56)} median ${med(xs).toFixed(1)} ms  min ${Math.min(...xs).toFixed(1)}  max ${Math.max(...xs).toFixed(1)}`); });
