/**
 * `weft proxy-status` (like `istioctl proxy-status`): asks a control plane's `/status` which proxies
 * are connected and, per xDS type, which version each ACKed or why it NACKed. Exit code 1 on any NACK.
 */
import type { Command } from 'commander';
import { WeftError } from '../../api/errors';
import type { StatusDocument, TypeStatus } from '../../control-plane';

/** Short names of the four types, in the order a table shows them. */
export const TYPE_COLUMNS: readonly (readonly [string, string])[] = [
  ['LDS', 'type.googleapis.com/envoy.config.listener.v3.Listener'],
  ['RDS', 'type.googleapis.com/envoy.config.route.v3.RouteConfiguration'],
  ['CDS', 'type.googleapis.com/envoy.config.cluster.v3.Cluster'],
  ['EDS', 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment'],
];

/** One row: a proxy and its per-type state. */
export interface ProxyRow {
  readonly id: string;
  readonly kind: string;
  /** `namespace/service@version`, or `-` for proxyless clients. */
  readonly service: string;
  readonly connectedAt: string;
  /** By short type name: `ACK <version>`, `NACK`, `PENDING`, or `-` when not subscribed. */
  readonly types: Readonly<Record<string, string>>;
  /** NACK texts by short type name. */
  readonly errors: Readonly<Record<string, string>>;
  /** Resources the NACK ledger holds as rejected, by short type name (gRFC A46: the rest were applied). */
  readonly nackedResources: Readonly<Record<string, readonly string[]>>;
}

/** Result of one proxy-status run. */
export interface ProxyStatusResult {
  readonly rows: readonly ProxyRow[];
  readonly nacks: number;
  /** What is printed. */
  readonly text: string;
  /** 0 all ACKed (or pending), 1 at least one NACK. */
  readonly exitCode: number;
}

/** Options of proxyStatus(). */
export interface ProxyStatusOptions {
  /** Base URL of the control plane's status port. @default 'http://127.0.0.1:15014' */
  readonly url?: string;
  /** Print JSON instead of a table. @default false */
  readonly json?: boolean;
  /** Request deadline. @default 5000 */
  readonly timeoutMs?: number;
}

const shortVersion = (v: string | undefined) => (v === undefined ? '' : v.length > 12 ? v.slice(0, 12) : v);

function cell(t: TypeStatus | undefined): { text: string; error?: string } {
  if (!t || (Array.isArray(t.subscribed) && t.subscribed.length === 0 && !t.sentVersion)) return { text: '-' };
  if (t.lastError) return { text: `NACK${t.ackedVersion ? ` (runs ${shortVersion(t.ackedVersion)})` : ''}`, error: t.lastError };
  if (t.ackedVersion !== undefined) return { text: `ACK ${shortVersion(t.ackedVersion)}${t.pending ? ' (newer pending)' : ''}` };
  return { text: t.pending ? 'PENDING' : '-' };
}

/** Turns a status document into rows (pure; exported for tests). */
export function rowsOf(doc: StatusDocument): ProxyRow[] {
  return doc.clients
    .map((c) => {
      const types: Record<string, string> = {};
      const errors: Record<string, string> = {};
      for (const [short, url] of TYPE_COLUMNS) {
        const { text, error } = cell(c.types[url]);
        types[short] = text;
        if (error !== undefined) errors[short] = error;
      }
      const nackedResources: Record<string, string[]> = {};
      for (const e of doc.nacked ?? []) {
        if (e.nodeId !== c.node.id) continue;
        const short = TYPE_COLUMNS.find(([, url]) => url === e.typeUrl)?.[0];
        if (short) (nackedResources[short] ??= []).push(e.name);
      }
      for (const list of Object.values(nackedResources)) list.sort();
      const n = c.node;
      const service = n.service ? `${n.namespace ?? 'default'}/${n.service}${n.version ? `@${n.version}` : ''}` : '-';
      return { id: n.id, kind: n.kind, service, connectedAt: n.connectedAt, types, errors, nackedResources };
    })
    .sort((a, b) => a.id.localeCompare(b.id));
}

/** Renders rows as an aligned table, NACK texts listed under it. */
export function renderTable(rows: readonly ProxyRow[]): string {
  const header = ['PROXY', 'KIND', 'SERVICE', ...TYPE_COLUMNS.map(([s]) => s), 'CONNECTED SINCE'];
  const body = rows.map((r) => [r.id, r.kind, r.service, ...TYPE_COLUMNS.map(([s]) => r.types[s]), r.connectedAt]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i].length)));
  const line = (cols: string[]) => cols.map((c, i) => (i === cols.length - 1 ? c : c.padEnd(widths[i]))).join('  ');
  const out = [line(header), ...body.map(line)];
  if (rows.length === 0) out.push('(no proxies connected)');
  const nacks = rows.flatMap((r) =>
    Object.entries(r.errors).map(([t, e]) => `  ${r.id} ${t}: ${e}${r.nackedResources[t]?.length ? `\n    rejected: ${r.nackedResources[t].join(', ')}` : ''}`),
  );
  if (nacks.length) out.push('', 'NACKs:', ...nacks);
  return `${out.join('\n')}\n`;
}

/** A status endpoint that cannot be read: exit code 2, so scripts tell it from "some proxy NACKs" (1). */
export class ProxyStatusError extends WeftError {
  readonly exitCode = 2;
  constructor(code: 'WEFT_ERR_PROXY_STATUS_UNREACHABLE' | 'WEFT_ERR_PROXY_STATUS_BAD_RESPONSE', message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'ProxyStatusError';
  }
}

/** Fetches `/status` and renders it. Throws ProxyStatusError (WEFT_ERR_PROXY_STATUS_UNREACHABLE / _BAD_RESPONSE). */
export async function proxyStatus(opts: ProxyStatusOptions = {}): Promise<ProxyStatusResult> {
  const base = (opts.url ?? 'http://127.0.0.1:15014').replace(/\/+$/, '');
  let doc: StatusDocument;
  try {
    const res = await fetch(`${base}/status`, { signal: AbortSignal.timeout(opts.timeoutMs ?? 5000) });
    if (!res.ok) throw new ProxyStatusError('WEFT_ERR_PROXY_STATUS_BAD_RESPONSE', `${base}/status answered ${res.status}`);
    doc = (await res.json()) as StatusDocument;
  } catch (e) {
    if (WeftError.isWeftError(e)) throw e;
    throw new ProxyStatusError('WEFT_ERR_PROXY_STATUS_UNREACHABLE', `cannot reach the control plane at ${base}/status: ${(e as Error).message}`, { cause: e });
  }
  if (!doc || !Array.isArray(doc.clients)) throw new ProxyStatusError('WEFT_ERR_PROXY_STATUS_BAD_RESPONSE', `${base}/status is not a weft control-plane status document`);
  const rows = rowsOf(doc);
  const nacks = rows.reduce((n, r) => n + Object.keys(r.errors).length, 0);
  const text = opts.json ? `${JSON.stringify({ proxies: rows, nacked: doc.nacked ?? [], recentNacks: doc.recentNacks ?? [] }, null, 2)}\n` : renderTable(rows);
  return { rows, nacks, text, exitCode: nacks > 0 ? 1 : 0 };
}

/** Adds `weft proxy-status`. */
export function register(program: Command): void {
  program
    .command('proxy-status')
    .description('show the proxies connected to a control plane and, per xDS type, the ACKed version or the NACK; exit 1 on any NACK')
    .option('--url <url>', 'control plane status endpoint (its --status-port)', 'http://127.0.0.1:15014')
    .option('--json', 'print JSON instead of a table', false)
    .action(async (flags: { url: string; json: boolean }) => {
      const r = await proxyStatus({ url: flags.url, json: flags.json });
      process.stdout.write(r.text);
      if (r.exitCode !== 0) process.exitCode = r.exitCode;
    });
}
