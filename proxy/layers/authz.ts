/**
 * The inbound authorization hook. The evaluator (api/authz.ts) is injected; this layer only asks it
 * and turns a denial into DeniedError (→ 403, PERMISSION_DENIED for gRPC, `weft-error: denied
 * policy=… rule=…`). It fails closed: an evaluator that throws denies. Denials (warn) and AUDIT
 * matches (info) are logged in the shape the TCP path uses (proxy/listeners/tcp-authz.ts).
 */
import type { ListenerConfig } from '../config/types';
import { DeniedError } from '../http/errors';
import type { Layer, ProxyRequest } from '../stack/types';

/** What the evaluator decided for one request. */
export interface AuthzDecision {
  readonly allowed: boolean;
  /** `<namespace>/<policy>` that decided, or undefined for the default policy. */
  readonly policy?: string;
  /** Rule id within the policy. */
  readonly rule?: string;
  /** ALLOW / DENY / AUDIT / default. */
  readonly action?: string;
  /** Why (api/authz's `DecisionReason`, e.g. `denied_by_policy`). @default - `action` is logged */
  readonly reason?: string;
  /** Ids of the AUDIT rules that matched; each request with any is logged at info. @default none */
  readonly audited?: readonly string[];
  /** The service port policies saw. @default - not logged */
  readonly port?: number;
  /** What is wrong with a rule (`rule_error`) or why nothing allowed. @default none */
  readonly detail?: string;
}

/** The injected evaluator; it may read the inbound listener's authz data. */
export type Authorize = (req: ProxyRequest, listener?: ListenerConfig) => AuthzDecision | Promise<AuthzDecision>;

/** Log sink for denials (warn) and AUDIT matches (info): the proxy's lifecycle log (`RunProxyOptions.log`). */
export type AuthzLog = (level: 'info' | 'warn', msg: string) => void;

/**
 * The authz layer. `onDecision` feeds metrics (allowed and denied alike); `log`, when given,
 * receives one warn line per denial and one info line per request that matched AUDIT rules.
 * Nothing is formatted for a request that is allowed without an AUDIT match.
 */
export function authz(
  authorize: Authorize,
  listenerFor: (req: ProxyRequest) => ListenerConfig | undefined,
  onDecision?: (d: AuthzDecision, req: ProxyRequest) => void,
  log?: AuthzLog,
): Layer {
  return (next) => async (req) => {
    let d: AuthzDecision;
    try {
      d = await authorize(req, listenerFor(req));
    } catch (e) {
      d = { allowed: false, policy: 'evaluator-error', action: 'DENY', reason: 'rule_error', detail: (e as Error)?.message };
    }
    onDecision?.(d, req);
    if (log) {
      if (d.audited?.length) log('info', `inbound HTTP request audited by ${d.audited.join(', ')}: ${describe(d, req)}`);
      if (!d.allowed) log('warn', `inbound HTTP request denied: ${d.reason ?? d.action ?? 'denied'} policy=${d.policy ?? 'default'} ${describe(d, req)}${d.detail ? ` (${d.detail})` : ''}`);
    }
    if (!d.allowed) throw new DeniedError(d.policy, d.rule);
    return next(req);
  };
}

/** `peer=… port=… method=… path=… authority=…` plus `request_id`/`trace_id` when known (TCP's fields first). */
function describe(d: AuthzDecision, req: ProxyRequest): string {
  const path = req.path.split('?', 1)[0]; // the query is ignored by authz and may carry secrets
  let s = `peer=${req.peer.identity ?? '(no certificate)'}${d.port !== undefined ? ` port=${d.port}` : ''} method=${safe(req.method)} path=${safe(path)} authority=${safe(req.authority)}`;
  const rid = req.headers['x-request-id'];
  if (typeof rid === 'string' && rid) s += ` request_id=${safe(rid)}`;
  const trace = traceIdOf(req);
  if (trace) s += ` trace_id=${trace}`;
  return s;
}

/** The tracing layer's trace id (`weft.traceId`), else the incoming `traceparent`'s. */
function traceIdOf(req: ProxyRequest): string | undefined {
  const t = req.meta.get('weft.traceId');
  if (typeof t === 'string') return t;
  const tp = req.headers['traceparent'];
  const m = typeof tp === 'string' ? /^[\da-f]{2}-([\da-f]{32})-[\da-f]{16}-[\da-f]{2}$/.exec(tp) : null;
  return m ? m[1] : undefined;
}

/** Caller-controlled text as one token: quoted (JSON) when it holds spaces, quotes, `=` or control bytes. */
function safe(v: string): string {
  const cut = v.length > 256 ? `${v.slice(0, 256)}…` : v;
  return /^[\x21-\x7e]*$/.test(cut) && !/["=\\]/.test(cut) && cut !== '' ? cut : JSON.stringify(cut);
}
