/**
 * Value types of the construct API: string enums carrying the wire values, and union-like classes
 * with static factories (cdk8s-plus `DeploymentStrategy`, aws-cdk `Runtime`) for choices with options.
 */
import type { LbPolicy } from '../api/resources';

/** What a port speaks. Every port declares it; weft never sniffs. */
export enum Protocol {
  /** HTTP/1.1 (and HTTP/2 when both sides negotiate it). */
  HTTP = 'http',
  /** HTTP/2 only (prior knowledge / h2c). */
  HTTP2 = 'http2',
  /** gRPC over HTTP/2; status codes are read from trailers. */
  GRPC = 'grpc',
  /** Opaque TCP: no HTTP routing, retries or L7 policy. */
  TCP = 'tcp',
}

/** Peer-authentication mode (Istio PeerAuthentication semantics). */
export enum MtlsMode {
  /** Only mTLS is accepted. */
  STRICT = 'STRICT',
  /** mTLS and plaintext are both accepted (migration mode). */
  PERMISSIVE = 'PERMISSIVE',
  /** No mTLS on inbound. */
  DISABLE = 'DISABLE',
}

/** How application traffic reaches the sidecar. */
export enum Interception {
  /** An init container installs iptables REDIRECT rules (needs NET_ADMIN/NET_RAW in that one container). */
  IPTABLES = 'iptables',
  /** No privileges: the app sends outbound HTTP through `HTTP_PROXY`. Inbound reaches the app directly. */
  EXPLICIT = 'explicit',
}

/** An `Interception` member or its wire value (`'iptables'`). */
export type InterceptionMode = Interception | `${Interception}`;

/** Action of an authorization rule. */
export enum RuleAction {
  ALLOW = 'ALLOW',
  DENY = 'DENY',
  AUDIT = 'AUDIT',
}

/** Endpoint picker of a service (`spec.trafficPolicy.loadBalancer`). */
export class LoadBalancer {
  /** Power of two choices over peak-EWMA latency (Linkerd's default, and weft's). */
  public static peakEwma(): LoadBalancer { return new LoadBalancer('peak-ewma'); }
  public static roundRobin(): LoadBalancer { return new LoadBalancer('round-robin'); }
  public static leastRequest(): LoadBalancer { return new LoadBalancer('least-request'); }
  /** Sticky picks keyed by a request header or a cookie (exactly one). */
  public static consistentHash(key: { readonly header?: string; readonly cookie?: string }): LoadBalancer {
    return new LoadBalancer('consistent-hash', key);
  }

  private constructor(
    /** Wire name of the policy. */
    public readonly policy: LbPolicy,
    /** Hash key of `consistent-hash`. */
    public readonly hash?: { readonly header?: string; readonly cookie?: string },
  ) {}

  /** @internal */
  public _render(): { policy: LbPolicy; hash?: { header?: string; cookie?: string } } {
    return this.hash ? { policy: this.policy, hash: { ...this.hash } } : { policy: this.policy };
  }
}

/** How a route matches the request path. */
export class PathMatch {
  public static exact(path: string): PathMatch { return new PathMatch({ exact: path }); }
  public static prefix(prefix: string): PathMatch { return new PathMatch({ prefix }); }
  /** RE2-compatible regular expression over the whole path. */
  public static regex(pattern: string): PathMatch { return new PathMatch({ regex: pattern }); }
  private constructor(public readonly spec: { readonly exact?: string; readonly prefix?: string; readonly regex?: string }) {}
}

/** How a route matches one header or query parameter. A plain string means `exact`. */
export class HeaderMatch {
  public static exact(value: string): HeaderMatch { return new HeaderMatch({ exact: value }); }
  public static regex(pattern: string): HeaderMatch { return new HeaderMatch({ regex: pattern }); }
  public static present(): HeaderMatch { return new HeaderMatch({ present: true }); }
  /** Matches when the header is missing. */
  public static absent(): HeaderMatch { return new HeaderMatch({ present: true, invert: true }); }
  private constructor(public readonly spec: { readonly exact?: string; readonly regex?: string; readonly present?: boolean; readonly invert?: boolean }) {}
}
