/**
 * Retries (gRFC A44, Envoy RetryPolicy) with linkerd's retry budget. It sits ABOVE the backend
 * layer so a retry picks a cluster and endpoint again, and BELOW the timeout so the deadline covers
 * every try. A try is retried only while its response has not been handed up: once this layer
 * returns a response, it has started streaming to the client and is never retried. Bodies are
 * replayed from a capped buffer (64 KiB); larger bodies are not retried.
 */
import type { Registry } from 'prom-client';
import type { RetryPolicy } from '../config/types';
import { DEFAULT_RETRY_BUDGET } from '../config/parse-cluster';
import { ProxyError, TimeoutError, toProxyError } from '../http/errors';
import { discard, onBodyDone } from '../stack/body';
import { fact, setFact } from '../stack/meta';
import { counterIn } from '../stack/metric-families';
import { DEFAULT_REPLAY_CAP, ReplayBody } from '../stack/replay-body';
import type { Handler, Layer, ProxyRequest, ProxyResponse } from '../stack/types';
import { RetryBudget } from './retry-budget';
import { configOf, forwardOf, routeOf } from './route';

/** Labels of the retry metrics. */
export type RetryLabels = 'direction' | 'route' | 'reason';

/** The retry layer's metric scope. */
export function retryMetrics(registry: Registry) {
  return {
    retries: counterIn<RetryLabels>(registry, 'weft_proxy_retries_total', 'Retries sent, by the condition that triggered them.', ['direction', 'route', 'reason']),
    skipped: counterIn<RetryLabels>(registry, 'weft_proxy_retries_skipped_total', 'Retriable failures not retried (budget_exhausted, body_too_large, attempts_exhausted).', ['direction', 'route', 'reason']),
  };
}

const GRPC_CONDITIONS: Record<string, string> = { '1': 'cancelled', '4': 'deadline-exceeded', '8': 'resource-exhausted', '13': 'internal', '14': 'unavailable' };

/** The retry condition `outcome` satisfies under `policy`, or undefined when it must not be retried. */
export function retryCondition(policy: RetryPolicy, outcome: { res: ProxyResponse } | { err: ProxyError }, grpc: boolean): string | undefined {
  const on = policy.on;
  if ('err' in outcome) {
    const r = outcome.err.reason;
    if (r === 'connect_failure') {
      for (const c of ['connect-failure', '5xx', 'gateway-error', 'reset']) if (on.has(c)) return c;
    }
    if (r === 'upstream_reset') {
      // An HTTP/2 REFUSED_STREAM means the server never processed the request.
      if (on.has('refused-stream') && /REFUSED_STREAM/.test(String((outcome.err.cause as Error | undefined)?.message ?? ''))) return 'refused-stream';
      for (const c of ['reset', '5xx', 'gateway-error']) if (on.has(c)) return c;
    }
    if (r === 'per_try_timeout') {
      for (const c of ['5xx', 'gateway-error']) if (on.has(c)) return c;
      if (grpc && on.has('deadline-exceeded')) return 'deadline-exceeded';
    }
    if (grpc && (r === 'connect_failure' || r === 'upstream_reset') && on.has('unavailable')) return 'unavailable';
    return undefined;
  }
  const { status, headers } = outcome.res;
  if (grpc) {
    const gs = headers['grpc-status'];
    const cond = GRPC_CONDITIONS[String(Array.isArray(gs) ? gs[0] : gs)];
    if (cond && on.has(cond)) return cond;
  }
  if (status >= 500 && on.has('5xx')) return '5xx';
  if ((status === 502 || status === 503 || status === 504) && on.has('gateway-error')) return 'gateway-error';
  if (status === 409 && on.has('retriable-4xx')) return 'retriable-4xx';
  if (on.has('retriable-status-codes') && policy.retriableStatusCodes.has(status)) return 'retriable-status-codes';
  return undefined;
}

/** Full-jitter exponential backoff: uniform in [0, min(max, base × 2^(n−1))). */
export function backoffMs(policy: RetryPolicy, retryNumber: number, random: () => number): number {
  return random() * Math.min(policy.backoffMaxMs, policy.backoffBaseMs * 2 ** (retryNumber - 1));
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const t = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** One try, bounded by the per-try timeout until its response headers arrive. */
async function tryOnce(next: Handler, req: ProxyRequest, perTryMs: number | undefined): Promise<ProxyResponse> {
  if (!perTryMs) return next(req);
  const ac = new AbortController();
  const onAbort = () => ac.abort(req.signal.reason);
  if (req.signal.aborted) onAbort();
  else req.signal.addEventListener('abort', onAbort, { once: true });
  const err = new TimeoutError('per_try_timeout', perTryMs);
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      ac.abort(err);
      reject(err);
    }, perTryMs);
  });
  expired.catch(() => undefined);
  const pending = next({ ...req, signal: ac.signal });
  try {
    const res = await Promise.race([pending, expired]);
    // Keep the downstream link until the body ends, so a cancelled caller still aborts this try.
    onBodyDone(res, () => req.signal.removeEventListener('abort', onAbort));
    return res;
  } catch (e) {
    req.signal.removeEventListener('abort', onAbort);
    pending.then(discard, () => undefined);
    throw e;
  } finally {
    clearTimeout(timer);
  }
}

export interface RetryOptions {
  readonly now: () => number;
  readonly random: () => number;
  readonly metrics: Registry;
  /** @default 65536 */
  readonly replayCap?: number;
}

/** The retry layer. Budgets are kept per route name, so they survive config updates. */
export function retry(opts: RetryOptions): Layer {
  const budgets = new Map<string, RetryBudget>();
  const m = retryMetrics(opts.metrics);
  const budgetFor = (req: ProxyRequest, name: string): RetryBudget => {
    const firstCluster = forwardOf(req)?.clusters[0]?.name;
    const cfg = (firstCluster && configOf(req)?.clusters.get(firstCluster)?.retryBudget) || DEFAULT_RETRY_BUDGET;
    let b = budgets.get(name);
    if (!b) budgets.set(name, (b = new RetryBudget(cfg, opts.now)));
    else if (b.config !== cfg) b.config = cfg;
    return b;
  };
  return (next) => async (req) => {
    const policy = forwardOf(req)?.retry;
    setFact(req, 'weft.try', 1);
    if (!policy || policy.numRetries === 0) return next(req);
    const route = routeOf(req)?.name ?? '';
    const labels = { direction: fact(req, 'weft.direction') ?? '', route };
    const budget = budgetFor(req, route);
    budget.deposit();
    const replay = req.body ? new ReplayBody(req.body, opts.replayCap ?? DEFAULT_REPLAY_CAP) : undefined;
    for (let attempt = 1; ; attempt++) {
      setFact(req, 'weft.try', attempt);
      let outcome: { res: ProxyResponse } | { err: ProxyError };
      try {
        outcome = { res: await tryOnce(next, { ...req, body: replay ? replay.attempt() : null }, policy.perTryTimeoutMs) };
      } catch (e) {
        outcome = { err: toProxyError(e) };
      }
      const done = (): ProxyResponse => {
        if ('err' in outcome) throw outcome.err;
        return outcome.res;
      };
      const cond = retryCondition(policy, outcome, req.grpc);
      if (!cond || req.signal.aborted) return done();
      const skip = attempt > policy.numRetries ? 'attempts_exhausted' : replay && !replay.replayable ? 'body_too_large' : !budget.tryWithdraw() ? 'budget_exhausted' : undefined;
      if (skip) {
        m.skipped.inc({ ...labels, reason: skip });
        return done();
      }
      if ('res' in outcome) discard(outcome.res);
      m.retries.inc({ ...labels, reason: cond });
      await sleep(backoffMs(policy, attempt, opts.random), req.signal);
    }
  };
}
