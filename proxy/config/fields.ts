/**
 * Reads decoded xDS objects in either form we receive: the codec's object form (snake_case keys,
 * Durations `{seconds, nanos}`, wrappers `{value}`, enums as strings) or proto3 canonical JSON
 * (camelCase, `"1.5s"`, bare wrapper values) from a bootstrap file. Problems are collected, not thrown.
 */
import { type MetadataKind, metadataProblems, normalizeMetadata } from '../../api/xds/metadata';

const camel = (snake: string): string => snake.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A cursor into one decoded message that records every problem under its JSON path. */
export class Reader {
  constructor(
    /** The message being read. */
    public readonly obj: Record<string, unknown>,
    /** JSON path of `obj` (`route_config.virtual_hosts[0]`). */
    public readonly path: string,
    /** Shared sink for problems. */
    public readonly problems: string[],
  ) {}

  /** A reader over `value`, or one that records "not an object". */
  static of(value: unknown, path: string, problems: string[]): Reader {
    if (!isObject(value)) {
      problems.push(`${path}: must be an object, got ${Array.isArray(value) ? 'array' : typeof value}`);
      return new Reader({}, path, problems);
    }
    return new Reader(value, path, problems);
  }

  /** Records a problem about field `name` (or the message itself). */
  problem(name: string | undefined, message: string): void {
    this.problems.push(`${name ? this.at(name) : this.path}: ${message}`);
  }

  /** JSON path of a field. */
  at(name: string): string {
    return this.path ? `${this.path}.${name}` : name;
  }

  /** The raw value under snake_case `name` or its camelCase twin; undefined/null = absent. */
  raw(name: string): unknown {
    const v = this.obj[name] ?? this.obj[camel(name)];
    return v === null ? undefined : v;
  }

  has(name: string): boolean {
    return this.raw(name) !== undefined;
  }

  str(name: string, required = false): string | undefined {
    const v = this.unwrap(this.raw(name));
    if (v === undefined) {
      if (required) this.problem(name, 'is required');
      return undefined;
    }
    if (typeof v !== 'string') {
      this.problem(name, `must be a string, got ${typeof v}`);
      return undefined;
    }
    return v;
  }

  /** A number (int64 may come as a decimal string). */
  num(name: string, opts: { min?: number; max?: number; integer?: boolean; required?: boolean } = {}): number | undefined {
    const raw = this.unwrap(this.raw(name));
    if (raw === undefined) {
      if (opts.required) this.problem(name, 'is required');
      return undefined;
    }
    const n = typeof raw === 'string' && /^-?[0-9]+(\.[0-9]+)?$/.test(raw) ? Number(raw) : raw;
    if (typeof n !== 'number' || !Number.isFinite(n)) return this.fail(name, `must be a number, got ${JSON.stringify(raw)}`);
    if (opts.integer && !Number.isInteger(n)) return this.fail(name, `must be an integer, got ${n}`);
    if (opts.min !== undefined && n < opts.min) return this.fail(name, `must be ≥ ${opts.min}, got ${n}`);
    if (opts.max !== undefined && n > opts.max) return this.fail(name, `must be ≤ ${opts.max}, got ${n}`);
    return n;
  }

  bool(name: string): boolean | undefined {
    const v = this.unwrap(this.raw(name));
    if (v === undefined) return undefined;
    if (typeof v !== 'boolean') return this.fail(name, `must be a boolean, got ${JSON.stringify(v)}`);
    return v;
  }

  /** A google.protobuf.Duration in milliseconds. */
  duration(name: string): number | undefined {
    const v = this.raw(name);
    if (v === undefined) return undefined;
    const ms = parseProtoDuration(v);
    if (ms === undefined) return this.fail(name, `must be a Duration ({seconds, nanos} or "1.5s"), got ${JSON.stringify(v)}`);
    return ms;
  }

  /** An enum given by name (or by number, mapped through `byNumber`). */
  enumOf<T extends string>(name: string, allowed: readonly T[], byNumber: readonly T[] = allowed): T | undefined {
    const v = this.raw(name);
    if (v === undefined) return undefined;
    if (typeof v === 'number' && byNumber[v] !== undefined) return byNumber[v];
    if (typeof v === 'string' && (allowed as readonly string[]).includes(v)) return v as T;
    return this.fail(name, `must be one of ${allowed.join(', ')}, got ${JSON.stringify(v)}`);
  }

  /** A nested message, or undefined when absent. */
  child(name: string): Reader | undefined {
    const v = this.raw(name);
    if (v === undefined) return undefined;
    return Reader.of(v, this.at(name), this.problems);
  }

  /** A repeated message field (absent = empty). */
  list(name: string): Reader[] {
    const v = this.raw(name);
    if (v === undefined) return [];
    if (!Array.isArray(v)) {
      this.problem(name, 'must be a list');
      return [];
    }
    return v.map((item, i) => Reader.of(item, `${this.at(name)}[${i}]`, this.problems));
  }

  /** A repeated string field (absent = empty). */
  strings(name: string): string[] {
    const v = this.raw(name);
    if (v === undefined) return [];
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) {
      this.problem(name, 'must be a list of strings');
      return [];
    }
    return v as string[];
  }

  /** `@type` of an Any (with or without the `type.googleapis.com/` prefix kept as is). */
  typeUrl(): string | undefined {
    const t = this.obj['@type'] ?? this.obj.type_url ?? this.obj.typeUrl;
    return typeof t === 'string' ? t : undefined;
  }

  private unwrap(v: unknown): unknown {
    return isObject(v) && 'value' in v && Object.keys(v).length === 1 ? v.value : v;
  }

  private fail(name: string, message: string): undefined {
    this.problem(name, message);
    return undefined;
  }
}

/** A number from a number or numeric string (protobuf longs arrive as strings); NaN for anything else, never a throw. */
function numeric(x: unknown): number {
  return typeof x === 'number' || typeof x === 'string' ? Number(x) : NaN;
}

/** Milliseconds of a Duration in object form or canonical JSON; undefined when malformed or negative. */
export function parseProtoDuration(v: unknown): number | undefined {
  if (typeof v === 'string') {
    const m = /^([0-9]+)(\.[0-9]{1,9})?s$/.exec(v);
    return m ? Number(m[1]) * 1000 + (m[2] ? Math.round(Number(`0${m[2]}`) * 1000) : 0) : undefined;
  }
  if (isObject(v)) {
    const seconds = numeric(v.seconds ?? 0);
    const nanos = numeric(v.nanos ?? 0);
    if (!Number.isFinite(seconds) || !Number.isFinite(nanos) || seconds < 0 || nanos < 0 || nanos > 999_999_999) return undefined;
    return seconds * 1000 + Math.round(nanos / 1e6);
  }
  return undefined;
}

const DENOMINATORS: Record<string, number> = { HUNDRED: 100, TEN_THOUSAND: 10_000, MILLION: 1_000_000 };
const DENOMINATOR_BY_NUMBER = [100, 10_000, 1_000_000];

/** A FractionalPercent (or RuntimeFractionalPercent's `default_value`) as a percentage 0–100. */
export function readPercent(r: Reader | undefined): number | undefined {
  if (!r) return undefined;
  const inner = r.child('default_value') ?? r;
  const numerator = inner.num('numerator', { min: 0, integer: true }) ?? 0;
  const d = inner.raw('denominator');
  const denominator = d === undefined ? 100 : typeof d === 'number' ? DENOMINATOR_BY_NUMBER[d] : typeof d === 'string' ? DENOMINATORS[d] : undefined;
  if (denominator === undefined) {
    inner.problem('denominator', `must be HUNDRED, TEN_THOUSAND or MILLION, got ${JSON.stringify(d)}`);
    return undefined;
  }
  return Math.min(100, (numerator / denominator) * 100);
}

/** Compiles an RE2 pattern as an anchored JS RegExp; records a problem for syntax RE2 lacks. */
export function compileRegex(r: Reader, name: string, pattern: string | undefined, ignoreCase = false): RegExp | undefined {
  if (pattern === undefined) {
    r.problem(name, 'regex is required');
    return undefined;
  }
  if (/\(\?<?[=!]|\\[1-9]/.test(pattern)) {
    r.problem(name, `regex ${JSON.stringify(pattern)} uses lookaround or backreferences, which RE2 does not support`);
    return undefined;
  }
  try {
    return new RegExp(`^(?:${pattern})$`, ignoreCase ? 'i' : '');
  } catch (err) {
    r.problem(name, `invalid regex ${JSON.stringify(pattern)}: ${(err as Error).message}`);
    return undefined;
  }
}

/**
 * The weft metadata of a resource (`metadata.filter_metadata.weft`), as a reader, after checking it
 * against its schema in api/xds/metadata.ts: each violation is a `WEFT_ERR_XDS_METADATA` problem,
 * so the resource is NACKed like one with any other bad field.
 */
export function weftMetadata(r: Reader, kind: MetadataKind): Reader | undefined {
  const m = r.child('metadata')?.child('filter_metadata')?.child('weft');
  if (!m) return undefined;
  r.problems.push(...metadataProblems(kind, m.obj, m.path));
  // read exactly what was checked: the schema judges the camelCase form, so the reader gets it too
  // (a snake_case `mtls_mode` must not pass the check and then go unread)
  return new Reader(normalizeMetadata(m.obj) as Record<string, unknown>, m.path, m.problems);
}

/** Deep-freezes a parsed value so no layer can mutate shared config. */
export function deepFreeze<T>(value: T): T {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value) || value instanceof RegExp) return value;
  if (value instanceof Map) {
    for (const v of value.values()) deepFreeze(v);
    const m = value as Map<unknown, unknown>;
    m.set = m.delete = () => { throw new TypeError('config is immutable'); };
    m.clear = () => { throw new TypeError('config is immutable'); };
  } else if (value instanceof Set) {
    const s = value as Set<unknown>;
    s.add = s.delete = () => { throw new TypeError('config is immutable'); };
    s.clear = () => { throw new TypeError('config is immutable'); };
  } else {
    for (const v of Object.values(value as object)) deepFreeze(v);
  }
  return Object.freeze(value);
}
