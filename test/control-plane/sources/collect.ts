/** Test helper: records the snapshots a source emits and awaits one that satisfies a predicate. */
import type { SourceSnapshot } from '../../../control-plane/sources/types';

export class SnapshotLog {
  readonly all: SourceSnapshot[] = [];
  private waiters: { pred: (s: SourceSnapshot) => boolean; resolve: (s: SourceSnapshot) => void }[] = [];

  /** Pass as the source's `onChange`. */
  readonly push = (s: SourceSnapshot): void => {
    this.all.push(s);
    this.waiters = this.waiters.filter((w) => {
      if (!w.pred(s)) return true;
      w.resolve(s);
      return false;
    });
  };

  get last(): SourceSnapshot | undefined {
    return this.all[this.all.length - 1];
  }

  /** The first snapshot from index `from` on that satisfies `pred` (fails after `ms` with `what`). */
  async until(what: string, pred: (s: SourceSnapshot) => boolean, from = 0, ms = 8000): Promise<SourceSnapshot> {
    const hit = this.all.slice(from).find(pred);
    if (hit) return hit;
    let timer: NodeJS.Timeout | undefined;
    try {
      return await new Promise<SourceSnapshot>((resolve, reject) => {
        this.waiters.push({ pred, resolve });
        timer = setTimeout(() => reject(new Error(`no snapshot with ${what} within ${ms}ms; last: ${JSON.stringify(this.last?.endpoints ?? null)}`)), ms);
      });
    } finally {
      clearTimeout(timer);
    }
  }
}

/** `service/version/instance@address ready?` lines: compact, readable endpoint assertions. */
export function endpointLines(s: SourceSnapshot | undefined): string[] {
  return (s?.endpoints ?? []).map((e) => `${e.namespace}/${e.service}/${e.version}/${e.instance}@${e.address}:${JSON.stringify(e.ports)}${e.ready ? '' : ' draining'}${e.meshed ? '' : ' plain'}`);
}
