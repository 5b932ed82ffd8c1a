/** gRPC over HTTP/2 details the proxy needs: the `grpc-timeout` header and status codes. */

const UNIT_MS: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 0.001, n: 0.000001 };

/**
 * Milliseconds in a `grpc-timeout` value (`100m`, `5S`, at most 8 digits plus a unit), or
 * undefined when absent or malformed (a malformed timeout is ignored, as grpc-go does).
 */
export function parseGrpcTimeout(value: string | string[] | undefined): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (typeof v !== 'string') return undefined;
  const m = /^([0-9]{1,8})([HMSmun])$/.exec(v.trim());
  if (!m) return undefined;
  return Math.max(0, Math.ceil(Number(m[1]) * UNIT_MS[m[2]]));
}

/** Formats milliseconds as a `grpc-timeout` value. */
export function formatGrpcTimeout(ms: number): string {
  const n = Math.max(0, Math.ceil(ms));
  return n < 1e8 ? `${n}m` : `${Math.ceil(n / 1000)}S`;
}

/** The gRPC status codes the proxy itself produces. */
export const GrpcStatus = {
  OK: 0, CANCELLED: 1, UNKNOWN: 2, DEADLINE_EXCEEDED: 4, NOT_FOUND: 5, PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8, UNIMPLEMENTED: 12, INTERNAL: 13, UNAVAILABLE: 14, UNAUTHENTICATED: 16,
} as const;
