/**
 * Authorization of inbound opaque TCP connections, once per connection after the mTLS handshake and
 * before anything is dialled: the caller's certificate identity and the chain's service port, judged
 * by api/authz.ts's `authorizeTcp` (Istio's L4 rules). A denial is counted and logged like an HTTP one.
 */
import type { Registry } from 'prom-client';
import { authorizeTcp, type Decision } from '../../api/authz';
import type { PolicyModel } from '../../api/model';
import type { FilterChainConfig, ListenerConfig } from '../config/types';
import { requestMetrics } from '../layers/observe';

/** The workload whose inbound listener carries the policies (bootstrap `node`). */
export interface TcpAuthzNode {
  readonly service: string;
  readonly namespace: string;
}

/** A connection's verdict plus what it was judged on (for logs and tests). */
export interface TcpConnectionDecision extends Decision {
  /** The service port policies saw (the chain's `servicePort`, else its app port, else 0). */
  readonly port: number;
  /** The caller's verified SPIFFE ID; undefined without a client certificate. */
  readonly principal?: string;
}

/** `route` label value of TCP denials in `weft_proxy_requests_total` (HTTP routes never carry it). */
export const TCP_ROUTE_LABEL = 'tcp';

const policiesOf = new WeakMap<object, PolicyModel[]>();

/**
 * The verdict for one inbound TCP connection. Policies come from the inbound listener's weft
 * `authz` metadata exactly as the HTTP authorizer (`proxy/main.ts`) reads them, and the port is the
 * same chain service port, so one policy reads the same on both paths. No `authz` → allowed (the
 * config carries no policy, as for HTTP). An evaluator that throws denies (fail closed).
 */
export function decideTcpConnection(
  node: TcpAuthzNode,
  listener: ListenerConfig | undefined,
  chain: FilterChainConfig,
  principal: string | undefined,
): TcpConnectionDecision {
  const port = chain.servicePort ?? chain.destinationPort ?? 0;
  const a = listener?.authz;
  if (!a) return { allowed: true, reason: 'default_allow', audited: [], port, principal };
  let p = policiesOf.get(a);
  if (!p) {
    // the same frozen metadata object → the same array → api/authz's compile cache hits
    p = [{ service: node.service, namespace: node.namespace, rules: a.rules }];
    policiesOf.set(a, p);
  }
  try {
    return { ...authorizeTcp(p, { principal, port }, { defaultInboundPolicy: a.defaultPolicy }), port, principal };
  } catch (e) {
    return { allowed: false, reason: 'rule_error', policy: 'evaluator-error', detail: (e as Error).message, audited: [], port, principal };
  }
}

/** Dependencies of `tcpAuthorizer`. */
export interface TcpAuthorizerDeps {
  readonly node: TcpAuthzNode;
  /** Registry of the HTTP request metrics; a denial increments `weft_proxy_requests_total{error="denied",route="tcp"}`. */
  readonly registry: Registry;
  /** Log sink. @default none */
  readonly log?: (level: 'info' | 'warn', msg: string) => void;
}

/** Decides one connection and records it: a denial (metric + log) and AUDIT matches (log). */
export type TcpAuthorize = (listener: ListenerConfig | undefined, chain: FilterChainConfig, principal: string | undefined) => TcpConnectionDecision;

/** The proxy's TCP authorizer: `decideTcpConnection` plus the denial metric and logs. */
export function tcpAuthorizer(deps: TcpAuthorizerDeps): TcpAuthorize {
  const { requests } = requestMetrics(deps.registry);
  return (listener, chain, principal) => {
    const d = decideTcpConnection(deps.node, listener, chain, principal);
    const who = `peer=${principal ?? '(no certificate)'} port=${d.port}`;
    if (d.audited.length) deps.log?.('info', `inbound TCP connection audited by ${d.audited.join(', ')}: ${who}`);
    if (!d.allowed) {
      // the HTTP denial family (403s are counted by the observe layer); status codes do not exist on TCP
      requests.inc({ direction: 'inbound', authority: '-', route: TCP_ROUTE_LABEL, status_code: '', grpc_status: '', error: 'denied' });
      deps.log?.('warn', `inbound TCP connection denied: ${d.reason} policy=${d.policy ?? 'default'} ${who}${d.detail ? ` (${d.detail})` : ''}`);
    }
    return d;
  };
}
