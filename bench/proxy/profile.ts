/**
 * Summarizes a V8 `.cpuprofile` (from `node --cpu-prof`, e.g. `BENCH_NODE_ARGS="--cpu-prof
 * --cpu-prof-dir=/tmp/p" npm run bench:proxy`): share of non-idle samples by self time per function
 * and per source bucket, and inclusive time for functions matching a filter. Bench-only tooling.
 *   node -r ts-node/register/transpile-only bench/proxy/profile.ts <file.cpuprofile> [top=40] [inclusive-regex]
 */
import * as fs from 'node:fs';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile { nodes: Node[]; samples: number[]; timeDeltas: number[] }

const [file, topArg, inclusive] = process.argv.slice(2);
const p = JSON.parse(fs.readFileSync(file, 'utf8')) as Profile;
const byId = new Map(p.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

const selfTime = new Map<number, number>();
p.samples.forEach((id, i) => selfTime.set(id, (selfTime.get(id) ?? 0) + (p.timeDeltas[i] ?? 0)));
const idle = [...selfTime].filter(([id]) => byId.get(id)!.callFrame.functionName === '(idle)').reduce((a, [, t]) => a + t, 0);
const total = [...selfTime.values()].reduce((a, b) => a + b, 0) - idle;

const shortUrl = (u: string): string => u.replace(/^.*\/(node_modules\/)/, '$1').replace(/^file:\/\/.*\/weft-bench\//, 'weft:');
const label = (n: Node): string => `${n.callFrame.functionName || '(anon)'} ${shortUrl(n.callFrame.url)}:${n.callFrame.lineNumber + 1}`;

/** Coarse buckets: what part of the stack a self sample belongs to. */
function bucket(n: Node): string {
  const { url, functionName } = n.callFrame;
  if (!url) return functionName.startsWith('(') ? functionName : `native ${functionName}`;
  if (url.includes('node_modules/prom-client')) return 'prom-client';
  if (url.includes('/weft-bench/')) return 'weft';
  if (url.includes('node_modules/')) return 'other packages';
  if (url.startsWith('node:internal/http2') || url === 'node:http2') return 'node http2';
  if (/^node:(_http|http|https|internal\/http)/.test(url)) return 'node http1';
  if (/^node:(_tls|tls|internal\/tls)/.test(url)) return 'node tls';
  if (/^node:(internal\/streams|stream)/.test(url)) return 'node streams';
  if (/^node:(events|internal\/event_target|internal\/abort_controller)/.test(url)) return 'node events/abort';
  if (/^node:(internal\/timers|timers)/.test(url)) return 'node timers';
  if (/^node:(net|internal\/stream_base_commons)/.test(url)) return 'node net';
  if (url.startsWith('node:')) return 'node other';
  return 'weft';
}

const pct = (t: number): string => `${((100 * t) / total).toFixed(1).padStart(5)} %`;
const buckets = new Map<string, number>();
const fns = new Map<string, number>();
for (const [id, t] of selfTime) {
  const n = byId.get(id)!;
  if (n.callFrame.functionName === '(idle)') continue;
  buckets.set(bucket(n), (buckets.get(bucket(n)) ?? 0) + t);
  fns.set(label(n), (fns.get(label(n)) ?? 0) + t);
}
const out: string[] = [`${file}: ${(total / 1e6).toFixed(2)} s of non-idle samples (idle ${(idle / 1e6).toFixed(2)} s)`, '', 'self time by bucket:'];
for (const [b, t] of [...buckets].sort((a, c) => c[1] - a[1])) out.push(`${pct(t)}  ${b}`);
out.push('', 'self time by function:');
for (const [f, t] of [...fns].sort((a, c) => c[1] - a[1]).slice(0, Number(topArg ?? 40))) out.push(`${pct(t)}  ${f}`);

if (inclusive) {
  // inclusive time of frames matching the regex (each sample counted once per matching function)
  const re = new RegExp(inclusive);
  const inc = new Map<string, number>();
  for (const [id, t] of selfTime) {
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const l = label(byId.get(cur)!);
      if (re.test(l) && !seen.has(l)) {
        seen.add(l);
        inc.set(l, (inc.get(l) ?? 0) + t);
      }
    }
  }
  out.push('', `inclusive time of /${inclusive}/:`);
  for (const [f, t] of [...inc].sort((a, c) => c[1] - a[1]).slice(0, 60)) out.push(`${pct(t)}  ${f}`);
}
process.stdout.write(`${out.join('\n')}\n`);
