/**
 * The control plane's rejected custom resources, as `weft up` and `weft stat` show them: read from
 * its `/status` (`rejected`), printed as one line each; `watchRejections` reports only what is new.
 */
import { describeRejection, Rejection } from '../../control-plane';

/** The rejections the control plane at `statusUrl` (its `/status` URL or base URL) reports; undefined when unreachable. */
export async function fetchRejections(statusUrl: string, timeoutMs = 1000): Promise<readonly Rejection[] | undefined> {
  const url = statusUrl.endsWith('/status') ? statusUrl : `${statusUrl.replace(/\/+$/, '')}/status`;
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    if (!res.ok) return undefined;
    const doc = (await res.json()) as { rejected?: Rejection[] };
    return Array.isArray(doc.rejected) ? doc.rejected : [];
  } catch {
    return undefined;
  }
}

/** Lines under the `weft stat` table: nothing when all is accepted. */
export function renderRejections(rejected: readonly Rejection[]): string {
  if (rejected.length === 0) return '';
  return ['', `REJECTED (${rejected.length}): the control plane serves the last accepted version, a deny-all placeholder or nothing instead`, ...rejected.map((r) => `  ${describeRejection(r)}`)].join('\n');
}

/** Callbacks of watchRejections(). */
export interface RejectionWatch {
  /** Each rejection that is new or changed since the last poll. */
  readonly onNew: (r: Rejection) => void;
  /** `Kind namespace/name` of each rejection that went away (fixed or deleted). @default ignore */
  readonly onCleared?: (key: string) => void;
  /** The whole current list after every successful poll (for a screen that is redrawn). @default ignore */
  readonly onList?: (rejected: readonly Rejection[]) => void;
  /** Poll interval. @default 1000 */
  readonly intervalMs?: number;
}

/** Polls `/status` and reports rejections through `watch`. Returns a stop function. */
export function watchRejections(statusUrl: string, watch: RejectionWatch): () => void {
  const intervalMs = watch.intervalMs ?? 1000;
  let stopped = false;
  let seen = new Map<string, string>();
  let timer: NodeJS.Timeout | undefined;
  const tick = async () => {
    const rejected = await fetchRejections(statusUrl);
    if (stopped) return;
    if (rejected) {
      const next = new Map<string, string>();
      for (const r of rejected) {
        const key = `${r.kind} ${r.namespace ? `${r.namespace}/` : ''}${r.name}`;
        const fingerprint = `${r.code}|${r.message}|${r.inForce}`;
        next.set(key, fingerprint);
        if (seen.get(key) !== fingerprint) watch.onNew(r);
      }
      for (const key of seen.keys()) if (!next.has(key)) watch.onCleared?.(key);
      seen = next;
      watch.onList?.(rejected);
    }
    timer = setTimeout(() => void tick(), intervalMs);
    timer.unref();
  };
  timer = setTimeout(() => void tick(), 0);
  timer.unref();
  return () => {
    stopped = true;
    if (timer) clearTimeout(timer);
  };
}
