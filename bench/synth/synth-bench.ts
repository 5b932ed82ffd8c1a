/**
 * Synth time of a large mesh (issue 11: 500 services ≤ 10 s): N MeshServices with two versions,
 * each calling the next two, a CanaryRoute on every tenth and a STRICT MtlsPolicy, synthesized
 * in-process the way `cdk8s synth` runs an app (every validation, the call-graph checks and
 * translate() included). Run: npx ts-node --transpile-only bench/synth/synth-bench.ts [N]
 */
import { App, Chart } from 'cdk8s';
import { CanaryRoute, Mesh, MeshService, MtlsMode, MtlsPolicy, Protocol } from '../../constructs';

function build(n: number): App {
  const app = new App({ outdir: `/tmp/weft-synth-bench-${process.pid}` });
  const chart = new Chart(app, 'big', { namespace: 'big' });
  const mesh = new Mesh(chart, 'mesh', { trustDomain: 'big.local' });
  const services: MeshService[] = [];
  for (let i = 0; i < n; i++) {
    services.push(new MeshService(chart, `svc-${i}`, {
      mesh, port: 8080, protocol: Protocol.HTTP, ingress: i === 0,
      versions: { v1: { image: `r/svc-${i}:1` }, v2: { image: `r/svc-${i}:2` } },
    }));
  }
  for (let i = 0; i < n; i++) {
    const callees = [services[2 * i + 1], services[2 * i + 2]].filter((s) => s !== undefined);
    if (callees.length) services[i].calls(...callees);
    if (i % 10 === 0) new CanaryRoute(chart, `canary-${i}`, { service: services[i], split: { v1: 90, v2: 10 } });
  }
  new MtlsPolicy(chart, 'strict', { mesh, mode: MtlsMode.STRICT });
  return app;
}

const n = Number(process.argv[2] ?? 500);
const t0 = process.hrtime.bigint();
const app = build(n);
const t1 = process.hrtime.bigint();
app.synth();
const t2 = process.hrtime.bigint();
const s = (a: bigint, b: bigint) => (Number(b - a) / 1e9).toFixed(2);
process.stdout.write(`${n} services: construct ${s(t0, t1)} s, synth ${s(t1, t2)} s, total ${s(t0, t2)} s\n`);
