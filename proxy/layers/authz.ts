/**
 * The inbound authorization hook. The evaluator (api/authz.ts) is injected; this layer only asks it
 * and turns a denial into DeniedError (→ 403, PERMISSION_DENIED for gRPC, `weft-error: denied
 * policy=… rule=…`). It fails closed: an evaluator that throws denies.
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
}

/** The injected evaluator; it may read the inbound listener's authz data. */
export type Authorize = (req: ProxyRequest, listener?: ListenerConfig) => AuthzDecision | Promise<AuthzDecision>;

/** The authz layer. `onDecision` feeds metrics/logs (allowed and denied alike). */
export function authz(authorize: Authorize, listenerFor: (req: ProxyRequest) => ListenerConfig | undefined, onDecision?: (d: AuthzDecision, req: ProxyRequest) => void): Layer {
  return (next) => async (req) => {
    let d: AuthzDecision;
    try {
      d = await authorize(req, listenerFor(req));
    } catch {
      d = { allowed: false, policy: 'evaluator-error', action: 'DENY' };
    }
    onDecision?.(d, req);
    if (!d.allowed) throw new DeniedError(d.policy, d.rule);
    return next(req);
  };
}
