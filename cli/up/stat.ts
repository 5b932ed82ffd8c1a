/**
 * Golden metrics per service and version, like `linkerd viz stat`: every sidecar's /metrics is
 * scraped, inbound requests are summed per (service, version) over replicas, and two scrapes give
 * requests/s, success rate (non-5xx) and p50/p99 (interpolated in histogram buckets, as
 * Prometheus' histogram_quantile does). Rendered with plain ANSI, no dependencies.
 */
import * as http from 'node:http';

/** A proxy to scrape. */
export interface StatTarget {
  readonly id: string;
  readonly service: string;
  readonly namespace: string;
  readonly version: string;
  /** Admin base URL. */
  readonly admin: string;
  /** What weft up's supervisor says: a `down` replica (app or sidecar not running) is not meshed even if its sidecar answers. @default running */
  readonly state?: 'running' | 'down';
  /** Restarts of its app and sidecar so far. @default 0 */
  readonly restarts?: number;
}

/** Cumulative counters of one (service, version) at one instant. */
export interface StatSample {
  readonly total: number;
  readonly success: number;
  /** Upper bound (seconds) → cumulative count. */
  readonly buckets: ReadonlyMap<number, number>;
  /** Replicas that answered the scrape / replicas known. */
  readonly up: number;
  readonly replicas: number;
  /** Restarts summed over the replicas. @default 0 */
  readonly restarts?: number;
}

/** One row of the table. */
export interface StatRow {
  readonly service: string;
  readonly namespace: string;
  readonly version: string;
  readonly up: number;
  readonly replicas: number;
  /** Restarts of the apps and sidecars of these replicas under `weft up`. */
  readonly restarts: number;
  readonly rps: number;
  /** 0..1, undefined without traffic. */
  readonly successRate?: number;
  readonly p50Ms?: number;
  readonly p99Ms?: number;
}

const LINE = /^(weft_proxy_requests_total|weft_proxy_request_duration_seconds_bucket)\{([^}]*)\}\s+([0-9.eE+-]+|\+Inf|NaN)$/;
const LABEL = /(\w+)="((?:[^"\\]|\\.)*)"/g;

/** Sums the inbound request metrics of one /metrics text. */
export function parseMetrics(text: string): { total: number; success: number; buckets: Map<number, number> } {
  let total = 0;
  let success = 0;
  const buckets = new Map<number, number>();
  for (const raw of text.split('\n')) {
    const m = LINE.exec(raw.trim());
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of m[2].matchAll(LABEL)) labels[l[1]] = l[2];
    if (labels.direction !== 'inbound') continue;
    const v = Number(m[3]);
    if (m[1] === 'weft_proxy_requests_total') {
      total += v;
      if (!/^5/.test(labels.status_code ?? '')) success += v;
    } else {
      const le = labels.le === '+Inf' ? Infinity : Number(labels.le);
      buckets.set(le, (buckets.get(le) ?? 0) + v);
    }
  }
  return { total, success, buckets };
}

function fetchText(url: string, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent: false, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => ((res.statusCode ?? 0) === 200 ? resolve(body) : reject(new Error(`${url}: HTTP ${res.statusCode}`))));
    });
    req.on('timeout', () => req.destroy(new Error(`${url}: timeout`)));
    req.on('error', reject);
  });
}

/** Scrapes every target; returns samples keyed `namespace/service/version`. */
export async function scrape(targets: readonly StatTarget[], timeoutMs = 800): Promise<Map<string, StatSample>> {
  const out = new Map<string, { total: number; success: number; buckets: Map<number, number>; up: number; replicas: number; restarts: number }>();
  await Promise.all(targets.map(async (t) => {
    const key = `${t.namespace}/${t.service}/${t.version}`;
    const acc = out.get(key) ?? { total: 0, success: 0, buckets: new Map<number, number>(), up: 0, replicas: 0, restarts: 0 };
    out.set(key, acc);
    acc.replicas++;
    acc.restarts += t.restarts ?? 0;
    try {
      const m = parseMetrics(await fetchText(`${t.admin}/metrics`, timeoutMs));
      // a sidecar whose app is down still answers: its counters count, the replica does not
      if (t.state !== 'down') acc.up++;
      acc.total += m.total;
      acc.success += m.success;
      for (const [le, c] of m.buckets) acc.buckets.set(le, (acc.buckets.get(le) ?? 0) + c);
    } catch {
      // a replica that does not answer counts as down
    }
  }));
  return out;
}

/** The `q` quantile (0..1) of the observations between two cumulative bucket sets, in ms. */
export function quantileMs(before: ReadonlyMap<number, number>, after: ReadonlyMap<number, number>, q: number): number | undefined {
  const les = [...after.keys()].sort((a, b) => a - b);
  const counts = les.map((le) => Math.max(0, (after.get(le) ?? 0) - (before.get(le) ?? 0)));
  const total = counts[counts.length - 1] ?? 0;
  if (total <= 0) return undefined;
  const rank = q * total;
  for (let i = 0; i < les.length; i++) {
    if (counts[i] >= rank) {
      const lo = i === 0 ? 0 : les[i - 1];
      const hi = les[i];
      if (!Number.isFinite(hi)) return lo * 1000;
      const below = i === 0 ? 0 : counts[i - 1];
      const inBucket = counts[i] - below;
      return (lo + (hi - lo) * (inBucket > 0 ? (rank - below) / inBucket : 1)) * 1000;
    }
  }
  return undefined;
}

/** Rows from two scrapes `seconds` apart, sorted by namespace, service, version. */
export function statRows(before: ReadonlyMap<string, StatSample>, after: ReadonlyMap<string, StatSample>, seconds: number): StatRow[] {
  const rows: StatRow[] = [];
  for (const [key, a] of after) {
    const [namespace, service, version] = key.split('/');
    const b = before.get(key) ?? { total: 0, success: 0, buckets: new Map(), up: 0, replicas: 0 };
    const dt = Math.max(0, a.total - b.total);
    const ds = Math.max(0, a.success - b.success);
    rows.push({
      service, namespace, version, up: a.up, replicas: a.replicas, restarts: a.restarts ?? 0, rps: seconds > 0 ? dt / seconds : 0,
      successRate: dt > 0 ? ds / dt : undefined,
      p50Ms: quantileMs(b.buckets, a.buckets, 0.5),
      p99Ms: quantileMs(b.buckets, a.buckets, 0.99),
    });
  }
  return rows.sort((x, y) => `${x.namespace}/${x.service}/${x.version}`.localeCompare(`${y.namespace}/${y.service}/${y.version}`));
}

const pad = (s: string, n: number) => s + ' '.repeat(Math.max(0, n - s.length));
const ms = (v?: number) => (v === undefined ? '-' : v < 10 ? `${v.toFixed(1)}ms` : `${Math.round(v)}ms`);

/** The table as text; `color` adds ANSI colors to the success column. */
export function renderStat(rows: readonly StatRow[], color = false): string {
  const head = ['NAMESPACE', 'SERVICE', 'VERSION', 'MESHED', 'RESTARTS', 'SUCCESS', 'RPS', 'LATENCY_P50', 'LATENCY_P99'];
  const body = rows.map((r) => [
    r.namespace, r.service, r.version, `${r.up}/${r.replicas}`, String(r.restarts),
    r.successRate === undefined ? '-' : `${(r.successRate * 100).toFixed(2)}%`,
    `${r.rps.toFixed(1)}rps`, ms(r.p50Ms), ms(r.p99Ms),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((row) => row[i].length)) + 2);
  const paint = (row: string[], r?: StatRow) => row.map((c, i) => {
    const cell = pad(c, widths[i]);
    if (!color || !r || i !== 5 || r.successRate === undefined) return cell;
    return `${r.successRate >= 0.99 ? '\x1b[32m' : r.successRate >= 0.95 ? '\x1b[33m' : '\x1b[31m'}${cell}\x1b[0m`;
  }).join('').trimEnd();
  return [color ? `\x1b[1m${paint(head)}\x1b[0m` : paint(head), ...body.map((row, i) => paint(row, rows[i]))].join('\n');
}

/** Scrapes every `intervalMs` and calls `onRows` with the rows of the last interval; returns a stop function. */
export function watchStat(targets: () => readonly StatTarget[] | Promise<readonly StatTarget[]>, onRows: (rows: StatRow[]) => void, intervalMs = 1000, onError?: (e: unknown) => void): () => void {
  let stopped = false;
  let prev: { at: number; sample: Map<string, StatSample> } | undefined;
  const tick = async () => {
    if (stopped) return;
    let found: readonly StatTarget[];
    try {
      found = await targets();
    } catch (e) {
      // e.g. the `weft up` being watched stopped (its run file is gone): report once and stop,
      // instead of an unhandled rejection
      stopped = true;
      if (onError) onError(e);
      return;
    }
    const sample = await scrape(found);
    const at = Date.now();
    if (prev && !stopped) onRows(statRows(prev.sample, sample, (at - prev.at) / 1000));
    prev = { at, sample };
    if (!stopped) timer = setTimeout(() => void tick(), intervalMs);
  };
  let timer: NodeJS.Timeout | undefined = setTimeout(() => void tick(), 0);
  return () => {
    stopped = true;
    if (timer) clearTimeout(timer);
  };
}
