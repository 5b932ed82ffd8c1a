/**
 * `weft proxy-status` (like `istioctl proxy-status`): asks a control plane's `/status` which proxies
 * are connected and, per xDS type, which version each ACKed or why it NACKed, and which custom
 * resources the control plane rejected (and what it serves instead). Exit code 1 on any NACK or rejection.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { WeftError } from '../../api/errors';
import type { Rejection, StatusDocument, TypeStatus } from '../../control-plane';

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
  /** Custom resources the control plane rejected (`/status` `rejected`; empty from an older control plane). */
  readonly rejected: readonly Rejection[];
  /** What is printed. */
  readonly text: string;
  /** 0 all ACKed (or pending) and nothing rejected, 1 at least one NACK or rejected resource. */
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
  /** Bearer token for a control plane reached from off its pod (its `--status-token-file`). @default none (loopback: none needed) */
  readonly token?: string;
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

const IN_FORCE: Readonly<Record<string, string>> = { 'last-accepted': 'last accepted version', 'deny-all': 'DENY ALL (never accepted)', none: 'nothing' };

/** The REJECTED section: one line per resource, its code, and what is served in its place. */
export function renderRejected(rejected: readonly Rejection[]): string {
  if (rejected.length === 0) return '';
  const rows = rejected.map((r) => [`${r.kind} ${r.namespace ? `${r.namespace}/` : ''}${r.name}`, r.code, IN_FORCE[r.inForce] ?? r.inForce]);
  const w = [0, 1].map((i) => Math.max(...rows.map((row) => row[i].length), i === 0 ? 'RESOURCE'.length : 'CODE'.length));
  const line = (c: string[]) => `  ${c[0].padEnd(w[0])}  ${c[1].padEnd(w[1])}  ${c[2]}`;
  return ['', 'REJECTED resources (the control plane serves what is IN FORCE instead; see their status for the message):', line(['RESOURCE', 'CODE', 'IN FORCE']), ...rows.map(line), ''].join('\n');
}

/** A status endpoint that cannot be read: exit code 2, so scripts tell it from "some proxy NACKs" (1). */
export class ProxyStatusError extends WeftError {
  readonly exitCode = 2;
  constructor(code: 'WEFT_ERR_PROXY_STATUS_UNREACHABLE' | 'WEFT_ERR_PROXY_STATUS_BAD_RESPONSE' | 'WEFT_ERR_PROXY_STATUS_FORBIDDEN', message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'ProxyStatusError';
  }
}

/** Fetches `/status` and renders it. Throws ProxyStatusError (WEFT_ERR_PROXY_STATUS_UNREACHABLE / _BAD_RESPONSE). */
export async function proxyStatus(opts: ProxyStatusOptions = {}): Promise<ProxyStatusResult> {
  const base = (opts.url ?? 'http://127.0.0.1:15014').replace(/\/+$/, '');
  let doc: StatusDocument;
  try {
    const res = await fetch(`${base}/status`, { signal: AbortSignal.timeout(opts.timeoutMs ?? 5000), ...(opts.token ? { headers: { authorization: `Bearer ${opts.token}` } } : {}) });
    if (res.status === 403 || res.status === 401) {
      throw new ProxyStatusError('WEFT_ERR_PROXY_STATUS_FORBIDDEN', `${base}/status refused (${res.status}): it answers loopback callers only; use \`kubectl -n weft-system port-forward deploy/weft-control-plane 15014\` or --token-file with the control plane's --status-token-file`);
    }
    if (!res.ok) throw new ProxyStatusError('WEFT_ERR_PROXY_STATUS_BAD_RESPONSE', `${base}/status answered ${res.status}`);
    doc = (await res.json()) as StatusDocument;
  } catch (e) {
    if (WeftError.isWeftError(e)) throw e;
    throw new ProxyStatusError('WEFT_ERR_PROXY_STATUS_UNREACHABLE', `cannot reach the control plane at ${base}/status: ${(e as Error).message}`, { cause: e });
  }
  if (!doc || !Array.isArray(doc.clients)) throw new ProxyStatusError('WEFT_ERR_PROXY_STATUS_BAD_RESPONSE', `${base}/status is not a weft control-plane status document`);
  const rows = rowsOf(doc);
  const nacks = rows.reduce((n, r) => n + Object.keys(r.errors).length, 0);
  const rejected = (doc as StatusDocument & { rejected?: Rejection[] }).rejected ?? [];
  const text = opts.json
    ? `${JSON.stringify({ proxies: rows, nacked: doc.nacked ?? [], recentNacks: doc.recentNacks ?? [], rejected }, null, 2)}\n`
    : `${renderTable(rows)}${renderRejected(rejected)}`;
  return { rows, nacks, rejected, text, exitCode: nacks > 0 || rejected.length > 0 ? 1 : 0 };
}

/** The default status URL: a Kubernetes control plane port-forwarded to this machine. */
export const DEFAULT_STATUS_URL = 'http://127.0.0.1:15014';

/**
 * Which control plane to ask: `--url` when given, else the one of the `weft up` running in
 * `stateDir` (its run file), else DEFAULT_STATUS_URL (`kubectl port-forward … 15014`).
 */
export async function statusUrlOf(flags: { url?: string; stateDir?: string }): Promise<string> {
  if (flags.url) return flags.url;
  const { findRunInfo } = await import('../up/run-info');
  return (await findRunInfo(flags.stateDir ?? '.weft'))?.controlPlane.status ?? DEFAULT_STATUS_URL;
}

/** Adds `weft proxy-status`. */
export function register(program: Command): void {
  program
    .command('proxy-status')
    .description('show the proxies connected to a control plane and, per xDS type, the ACKed version or the NACK, and the rejected custom resources; exit 1 on any NACK or rejection')
    .option('--url <url>', `control plane status endpoint (its --status-port); default: the running \`weft up\` of --state-dir, else ${DEFAULT_STATUS_URL}`)
    .option('--state-dir <dir>', 'state directory of a running weft up (its run.json names the control plane)', '.weft')
    .option('--token-file <file>', 'bearer token for a control plane reached off its pod (its --status-token-file)')
    .option('--json', 'print JSON instead of a table', false)
    .action(async (flags: { url?: string; stateDir: string; json: boolean; tokenFile?: string }) => {
      let token: string | undefined;
      if (flags.tokenFile) {
        try {
          token = readFileSync(flags.tokenFile, 'utf8').trim();
        } catch (e) {
          throw new ProxyStatusError('WEFT_ERR_PROXY_STATUS_FORBIDDEN', `cannot read --token-file ${flags.tokenFile}: ${(e as Error).message}`);
        }
      }
      const r = await proxyStatus({ url: await statusUrlOf(flags), json: flags.json, token });
      process.stdout.write(r.text);
      if (r.exitCode !== 0) process.exitCode = r.exitCode;
    });
}
