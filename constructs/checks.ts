/** Argument checks shared by constructors and mutators; each throws a coded WeftValidationError. */
import { IConstruct } from 'constructs';
import { RESERVED_PORT_LIST } from '../api/bootstrap';
import { DURATION_PATTERN, parseDuration } from '../api/duration';
import { isDnsLabel } from '../api/names';
import { RETRY_ON } from '../api/resources';
import { WeftValidationError } from './errors';

/** Throws WEFT_ERR_INVALID_NAME unless `value` is a DNS-1123 label. */
export function checkName(scope: IConstruct, prop: string, value: string): string {
  if (typeof value !== 'string' || !isDnsLabel(value)) {
    const hint = typeof value === 'string' ? value.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 63) : '';
    throw new WeftValidationError('WEFT_ERR_INVALID_NAME', `${prop} must be a DNS-1123 label`, scope, {
      prop, value, fix: `use lower-case letters, digits and "-" (at most 63)${hint && isDnsLabel(hint) ? `, e.g. "${hint}"` : ''}`,
    });
  }
  return value;
}

/** Parses a duration prop (`"500ms"`, `"2s"`) into ms, or throws WEFT_ERR_INVALID_PROP. */
export function checkDuration(scope: IConstruct, prop: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !DURATION_PATTERN.test(value)) {
    throw new WeftValidationError('WEFT_ERR_INVALID_PROP', `${prop} is not a duration`, scope, { prop, value, fix: 'write it like "500ms", "2s" or "1m30s"' });
  }
  return parseDuration(value, prop);
}

/** Checks an application port number: 1..65535 and not one of the proxy's reserved ports. */
export function checkPort(scope: IConstruct, prop: string, value: number): number {
  if (!Number.isInteger(value) || value < 1 || value > 65535) {
    throw new WeftValidationError('WEFT_ERR_INVALID_PROP', `${prop} must be an integer port 1..65535`, scope, { prop, value });
  }
  if (RESERVED_PORT_LIST.includes(value)) {
    throw new WeftValidationError('WEFT_ERR_RESERVED_PORT', `${prop} collides with a port the weft proxy reserves (${RESERVED_PORT_LIST.join(', ')})`, scope, { prop, value });
  }
  return value;
}

/** Checks an integer within bounds. */
export function checkInt(scope: IConstruct, prop: string, value: number | undefined, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
  if (value === undefined) return undefined;
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new WeftValidationError('WEFT_ERR_INVALID_PROP', `${prop} must be an integer in ${min}..${max === Number.MAX_SAFE_INTEGER ? '∞' : max}`, scope, { prop, value });
  }
  return value;
}

/** Retry options as users write them. */
export interface RetryOptions {
  /** Retries after the first try (Istio `attempts`), 1..10. */
  readonly attempts: number;
  /** Conditions that make a try retriable. */
  readonly on: readonly (typeof RETRY_ON)[number][];
  /**
   * Deadline of each try.
   * @default - no per-try deadline; only the route timeout applies
   */
  readonly perTryTimeout?: string;
  /**
   * Extra HTTP status codes that are retriable (with `retriable-4xx` or on their own).
   * @default - none
   */
  readonly retriableStatusCodes?: readonly number[];
  /**
   * Exponential backoff between tries.
   * @default - 25ms base, 250ms cap (the gRPC A44 defaults)
   */
  readonly backoff?: { readonly base: string; readonly max: string };
  /**
   * The app makes every method idempotent (e.g. with idempotency keys), so POST and PATCH may be
   * re-sent too. Without it, the call-graph check rejects a POST/PATCH route that retries on
   * conditions other than connect-failure/refused-stream (WEFT_ERR_RETRY_NON_IDEMPOTENT).
   * @default false
   */
  readonly idempotent?: boolean;
}

/** Checks retry options and returns them in wire form. */
export function checkRetries(scope: IConstruct, prop: string, r: RetryOptions | undefined) {
  if (!r) return undefined;
  checkInt(scope, `${prop}.attempts`, r.attempts, 1, 10);
  if (!Array.isArray(r.on) || !r.on.length) throw new WeftValidationError('WEFT_ERR_INVALID_PROP', `${prop}.on needs at least one retry condition`, scope, { prop: `${prop}.on`, value: r.on, fix: `use some of ${RETRY_ON.join(', ')}` });
  for (const c of r.on) {
    if (!(RETRY_ON as readonly string[]).includes(c)) throw new WeftValidationError('WEFT_ERR_INVALID_PROP', `${prop}.on has an unknown retry condition`, scope, { prop: `${prop}.on`, value: c, fix: `use one of ${RETRY_ON.join(', ')}` });
  }
  checkDuration(scope, `${prop}.perTryTimeout`, r.perTryTimeout);
  if (r.idempotent !== undefined && typeof r.idempotent !== 'boolean') throw new WeftValidationError('WEFT_ERR_INVALID_PROP', `${prop}.idempotent must be a boolean`, scope, { prop: `${prop}.idempotent`, value: r.idempotent });
  (r.retriableStatusCodes ?? []).forEach((c, i) => checkInt(scope, `${prop}.retriableStatusCodes[${i}]`, c, 100, 599));
  if (r.backoff) {
    const base = checkDuration(scope, `${prop}.backoff.base`, r.backoff.base)!;
    const max = checkDuration(scope, `${prop}.backoff.max`, r.backoff.max)!;
    if (max < base) throw new WeftValidationError('WEFT_ERR_INVALID_PROP', `${prop}.backoff.max is below backoff.base`, scope, { prop: `${prop}.backoff`, value: r.backoff });
  }
  return {
    attempts: r.attempts,
    on: [...r.on],
    ...(r.perTryTimeout ? { perTryTimeout: r.perTryTimeout } : {}),
    ...(r.retriableStatusCodes?.length ? { retriableStatusCodes: [...r.retriableStatusCodes] } : {}),
    ...(r.backoff ? { backoff: { base: r.backoff.base, max: r.backoff.max } } : {}),
    ...(r.idempotent ? { idempotent: true } : {}),
  };
}

/** WEFT_ERR_RETRY_EXCEEDS_TIMEOUT when the tries cannot fit in the timeout. */
export function checkRetryBudget(scope: IConstruct, prop: string, r: RetryOptions | undefined, timeout: string | undefined): void {
  if (!r?.perTryTimeout || !timeout) return;
  const per = parseDuration(r.perTryTimeout);
  const total = parseDuration(timeout);
  if (per * (r.attempts + 1) > total) {
    throw new WeftValidationError('WEFT_ERR_RETRY_EXCEEDS_TIMEOUT',
      `perTryTimeout ${r.perTryTimeout} × (attempts ${r.attempts} + 1) = ${per * (r.attempts + 1)}ms exceeds timeout ${timeout}, so the last tries can never run`,
      scope, { prop, value: { retries: r, timeout }, fix: `raise timeout to at least ${per * (r.attempts + 1)}ms or lower perTryTimeout/attempts` });
  }
}
