/**
 * docs/grafana/weft-golden-metrics.json may only query metric names and labels the proxy registers:
 * every selector, `by (...)` clause and template query is checked against the real metric families.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { proxyMetrics } from '../../proxy/admin/metrics';
import { balancerMetrics } from '../../proxy/balance/metrics';
import { requestMetrics } from '../../proxy/layers/observe';
import { retryMetrics } from '../../proxy/layers/retry';

const dashboard = JSON.parse(readFileSync(join(__dirname, '../../docs/grafana/weft-golden-metrics.json'), 'utf8'));

/** Every series name the proxy can expose → its label names (histograms expand to _bucket/_count/_sum). */
function emitted(): Map<string, Set<string>> {
  const registry = new Registry();
  requestMetrics(registry);
  proxyMetrics(registry);
  retryMetrics(registry);
  balancerMetrics(registry);
  const out = new Map<string, Set<string>>();
  // labels Prometheus adds to every target (job, instance; namespace and pod from weft up's scrape config and PodMonitor)
  const target = ['job', 'instance', 'namespace', 'pod'];
  for (const m of registry.getMetricsAsArray() as unknown as { name: string; labelNames: string[]; constructor: { name: string } }[]) {
    const labels = new Set([...m.labelNames, ...target]);
    if (m.constructor.name === 'Histogram') {
      out.set(`${m.name}_bucket`, new Set([...labels, 'le']));
      out.set(`${m.name}_count`, labels);
      out.set(`${m.name}_sum`, labels);
    } else out.set(m.name, labels);
  }
  return out;
}

const FUNCTIONS = new Set(['sum', 'rate', 'irate', 'increase', 'histogram_quantile', 'avg', 'max', 'min', 'count', 'topk', 'clamp_min', 'label_values']);
const KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'and', 'or', 'unless', 'bool']);

/** Metric names and label names one PromQL expression uses. */
function references(expr: string): { metric: string; labels: string[] }[] {
  const refs: { metric: string; labels: string[] }[] = [];
  const grouping: string[] = [];
  let rest = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""').replace(/\[[^\]]*\]/g, '');
  rest = rest.replace(/\b(by|without)\s*\(([^)]*)\)/g, (_, _k, ls: string) => { grouping.push(...ls.split(',').map((s) => s.trim()).filter(Boolean)); return ' '; });
  rest = rest.replace(/([a-zA-Z_:][\w:]*)\s*\{([^}]*)\}/g, (_, metric: string, body: string) => {
    refs.push({ metric, labels: [...body.matchAll(/(\w+)\s*(?:=~|!~|!=|=)/g)].map((m) => m[1]) });
    return ' ';
  });
  const lv = /label_values\(\s*(\w+)\s*,\s*(\w+)\s*\)/.exec(rest);
  if (lv) { refs.push({ metric: lv[1], labels: [lv[2]] }); rest = rest.replace(lv[0], ' '); }
  for (const m of rest.matchAll(/[a-zA-Z_:][\w:]*(\s*\()?/g)) {
    const word = m[0].replace(/\s*\($/, '');
    if (m[1]) expect({ expr, fn: word, known: FUNCTIONS.has(word) }).toEqual({ expr, fn: word, known: true });
    else if (!KEYWORDS.has(word) && !/^\d/.test(word)) refs.push({ metric: word, labels: [] });
  }
  // grouping labels must exist on every metric of the expression
  return refs.map((r) => ({ ...r, labels: [...r.labels, ...grouping] }));
}

const exprs: string[] = [
  ...dashboard.panels.flatMap((p: { targets?: { expr: string }[] }) => (p.targets ?? []).map((t) => t.expr)),
  ...dashboard.templating.list.filter((v: { type: string }) => v.type === 'query').map((v: { query: { query: string } }) => v.query.query),
].map((e) => e.replace(/\$__rate_interval/g, '1m').replace(/\$\w+/g, 'x'));

test('the dashboard has panels for per service/version, per edge and the sidecars', () => {
  expect(exprs.length).toBeGreaterThanOrEqual(10);
  expect(exprs.some((e) => e.includes('source_service') && e.includes('destination_version'))).toBe(true);
});

test('every metric and label the dashboard queries is one weft emits', () => {
  const known = emitted();
  const problems: string[] = [];
  for (const e of exprs) {
    for (const r of references(e)) {
      const labels = known.get(r.metric);
      if (!labels) problems.push(`${r.metric} (in ${e})`);
      else for (const l of r.labels) if (!labels.has(l)) problems.push(`${r.metric}{${l}} (in ${e})`);
    }
  }
  expect(problems).toEqual([]);
});

test('the checker catches a wrong metric or label (it can fail)', () => {
  const known = emitted();
  const bad = references('sum by (path) (rate(weft_proxy_requests_total{pod_ip="x"}[1m])) + weft_requests_total');
  expect(bad.filter((r) => !known.has(r.metric)).map((r) => r.metric)).toEqual(['weft_requests_total']);
  expect(bad.find((r) => r.metric === 'weft_proxy_requests_total')!.labels.filter((l) => !known.get('weft_proxy_requests_total')!.has(l))).toEqual(['pod_ip', 'path']);
});
