/**
 * Request mirroring (Envoy request_mirror_policies): for the configured percentage of requests a
 * copy goes to another cluster, fire-and-forget. The shadow's response is drained and ignored; its
 * failures, slowness or a body past the cap never touch the main request. The authority gets the
 * `-shadow` suffix, as Envoy does, so the mirror target can tell shadow traffic apart.
 */
import { PassThrough, type Readable } from 'node:stream';
import { discard } from '../stack/body';
import { DEFAULT_REPLAY_CAP } from '../stack/replay-body';
import type { Handler, Layer, ProxyRequest } from '../stack/types';
import { forwardOf } from './route';

/** How long a shadow request may run. */
export const MIRROR_TIMEOUT_MS = 10_000;

/** Splits `body` into the main stream (with backpressure) and a capped copy (without). */
function tee(body: Readable, cap: number): { main: Readable; copy: PassThrough } {
  const main = new PassThrough();
  const copy = new PassThrough();
  let copied = 0;
  body.on('data', (chunk: Buffer) => {
    copied += chunk.length;
    if (copied > cap) copy.destroy();
    else if (!copy.destroyed) copy.write(chunk);
  });
  body.on('end', () => copy.end());
  body.on('error', (err) => {
    copy.destroy();
    main.destroy(err);
  });
  copy.on('error', () => undefined);
  body.pipe(main);
  return { main, copy };
}

/** The mirror layer; `backend` is the concrete stack the shadow goes through (cluster forced). */
export function mirror(backend: Handler, random: () => number, onShadow?: (cluster: string, ok: boolean) => void): Layer {
  return (next) => (req) => {
    const mirrors = forwardOf(req)?.mirrors ?? [];
    const chosen = mirrors.filter((m) => m.percent >= 100 || random() * 100 < m.percent);
    if (chosen.length === 0) return next(req);
    let body = req.body;
    for (const m of chosen) {
      let copy: Readable | null = null;
      if (body) {
        const t = tee(body, DEFAULT_REPLAY_CAP);
        body = t.main;
        copy = t.copy;
      }
      const shadow: ProxyRequest = {
        ...req,
        authority: `${req.authority}-shadow`,
        headers: { ...req.headers },
        body: copy,
        signal: AbortSignal.timeout(MIRROR_TIMEOUT_MS),
        meta: new Map([...req.meta, ['weft.clusterOverride', m.cluster]]),
      };
      // Fire and forget: nothing about the shadow may reject or delay the main request.
      Promise.resolve()
        .then(() => backend(shadow))
        .then((res) => {
          discard(res);
          onShadow?.(m.cluster, true);
        }, () => onShadow?.(m.cluster, false));
    }
    return next(body === req.body ? req : { ...req, body });
  };
}
