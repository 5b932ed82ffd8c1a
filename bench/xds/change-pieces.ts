/**
 * In-process cost of one CanaryRoute change, piece by piece (no streams, no clients): buildModel,
 * translate of the sidecar view, buildSnapshot through a warm EncodeCache, and for reference the
 * JSON of every resource and the whole-RouteConfiguration strict encode the cache avoids. Run:
 *   npx ts-node --transpile-only bench/xds/change-pieces.ts --services 1000 --endpoints 10000 --changes 20
 */
import { buildModel } from '../../api/build-model';
import { translate, ClientKind } from '../../api/translate';
import { encodeResource } from '../../api/xds/codec';
import { ROUTE } from '../../api/xds/protos';
import { buildSnapshot, EncodeCache } from '../../control-plane/xds/snapshot';
import { benchMesh } from './mesh';

const arg = (name: string, def: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
};
const SERVICES = arg('services', 1000);
const ENDPOINTS = arg('endpoints', 10000);
const CHANGES = arg('changes', 20);
const client: ClientKind = { kind: 'sidecar', node: { service: 'client', namespace: 'default', version: '' } };

const time = <T>(fn: () => T): [T, number] => { const t0 = process.hrtime.bigint(); const r = fn(); return [r, Number(process.hrtime.bigint() - t0) / 1e6]; };
const samples: Record<string, number[]> = {};
const record = (k: string, ms: number) => (samples[k] ??= []).push(ms);

const cache = new EncodeCache();
for (let i = 0; i < CHANGES + 3; i++) {
  const { resources, endpoints } = benchMesh(SERVICES, ENDPOINTS, i % 2 ? 50 : 10);
  const [{ model }, buildMs] = time(() => buildModel(resources as never[], endpoints as never[]));
  const [x, translateMs] = time(() => translate(model, client));
  cache.rotate();
  const [, snapMs] = time(() => buildSnapshot(x, cache));
  const all = [...x.listeners, ...x.routes, ...x.clusters, ...x.endpoints];
  const [, jsonMs] = time(() => { let n = 0; for (const r of all) n += JSON.stringify(r).length; return n; });
  const [, routeMs] = time(() => x.routes.map((r) => encodeResource(ROUTE, r)));
  if (i < 3) continue; // warm-up (JIT, first generations of the cache)
  record('buildModel', buildMs);
  record('translate', translateMs);
  record('buildSnapshot (warm cache)', snapMs);
  record('  ref: JSON.stringify of all resources', jsonMs);
  record('  ref: encodeResource of the whole RouteConfiguration', routeMs);
}
const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
for (const [k, xs] of Object.entries(samples)) console.log(`${k.padEnd(56)} median ${med(xs).toFixed(1)} ms  min ${Math.min(...xs).toFixed(1)}  max ${Math.max(...xs).toFixed(1)}`);
