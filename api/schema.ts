/**
 * A small schema language that is the single source of truth for weft's custom resources: from one
 * definition we get the TypeScript type (`Infer`), the runtime validator (`check`) and the
 * structural OpenAPI v3 schema the CRDs carry (`toOpenApi`). No hand-kept duplicate.
 */
import { InvalidConfigError } from './errors';

/** Structural OpenAPI v3 schema, as Kubernetes wants it in a CRD. */
export interface OpenApiSchema {
  type?: 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';
  description?: string;
  properties?: Record<string, OpenApiSchema>;
  required?: string[];
  items?: OpenApiSchema;
  additionalProperties?: OpenApiSchema;
  enum?: readonly (string | number)[];
  pattern?: string;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  /** CEL rules the API server checks at admission (the CRD carries them; the runtime validator does not). */
  'x-kubernetes-validations'?: readonly CelRule[];
  'x-kubernetes-list-type'?: 'atomic' | 'set' | 'map';
  'x-kubernetes-list-map-keys'?: readonly string[];
}

/** One `x-kubernetes-validations` entry (apiextensions.k8s.io/v1 ValidationRule). */
export interface CelRule {
  /** The CEL expression; `self` is the value the rule sits on. */
  readonly rule: string;
  /** What `kubectl` prints when the rule fails. */
  readonly message: string;
  /** @default FieldValueInvalid */
  readonly reason?: 'FieldValueInvalid' | 'FieldValueForbidden' | 'FieldValueRequired' | 'FieldValueDuplicate';
}

/** One node of a schema. `T` is the TypeScript type of a valid value. */
export interface Schema<T> {
  /** Phantom field for type inference; never set. */
  readonly _type?: T;
  readonly optional: boolean;
  readonly description?: string;
  /** Appends one problem per violation to `out`; `path` names where `value` sits. */
  validate(value: unknown, path: string, out: string[]): void;
  toOpenApi(): OpenApiSchema;
}

/** The TypeScript type a schema accepts. */
export type Infer<S> = S extends Schema<infer T> ? T : never;

type Shape = Record<string, Schema<unknown>>;
type OptionalKeys<P extends Shape> = { [K in keyof P]: P[K]['optional'] extends true ? K : never }[keyof P];
type RequiredKeys<P extends Shape> = Exclude<keyof P, OptionalKeys<P>>;
/** The object type of a shape: optional schemas become optional readonly fields. */
export type InferShape<P extends Shape> = { readonly [K in RequiredKeys<P>]: Infer<P[K]> } & {
  readonly [K in OptionalKeys<P>]?: Infer<P[K]>;
};

function typeOf(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v;
}

function base<T>(openApi: () => OpenApiSchema, check: (v: unknown, p: string, out: string[]) => void, description?: string): Schema<T> {
  return {
    optional: false,
    description,
    validate: check,
    toOpenApi: () => (description ? { ...openApi(), description } : openApi()),
  };
}

/** Options shared by every string schema. */
export interface StringOptions {
  readonly pattern?: RegExp;
  /** Plain words for the pattern, used in messages ("a DNS-1123 label"). */
  readonly patternName?: string;
  readonly minLength?: number;
  readonly maxLength?: number;
  readonly description?: string;
}

/** Constructors for schema nodes. */
export const s = {
  string(opts: StringOptions = {}): Schema<string> {
    return base<string>(
      () => ({
        type: 'string',
        ...(opts.pattern ? { pattern: opts.pattern.source } : {}),
        ...(opts.minLength !== undefined ? { minLength: opts.minLength } : {}),
        ...(opts.maxLength !== undefined ? { maxLength: opts.maxLength } : {}),
      }),
      (v, p, out) => {
        if (typeof v !== 'string') return void out.push(`${p}: expected a string, got ${typeOf(v)}`);
        if (opts.minLength !== undefined && v.length < opts.minLength) out.push(`${p}: must have at least ${opts.minLength} characters`);
        if (opts.maxLength !== undefined && v.length > opts.maxLength) out.push(`${p}: must have at most ${opts.maxLength} characters`);
        if (opts.pattern && !opts.pattern.test(v)) out.push(`${p}: ${JSON.stringify(v)} is not ${opts.patternName ?? `matching ${opts.pattern.source}`}`);
      },
      opts.description,
    );
  },

  enumOf<const V extends readonly string[]>(values: V, description?: string): Schema<V[number]> {
    return base<V[number]>(
      () => ({ type: 'string', enum: values }),
      (v, p, out) => {
        if (typeof v !== 'string' || !values.includes(v)) out.push(`${p}: ${JSON.stringify(v)} is not one of ${values.join(', ')}`);
      },
      description,
    );
  },

  integer(opts: { minimum?: number; maximum?: number; description?: string } = {}): Schema<number> {
    return base<number>(
      () => ({ type: 'integer', ...(opts.minimum !== undefined ? { minimum: opts.minimum } : {}), ...(opts.maximum !== undefined ? { maximum: opts.maximum } : {}) }),
      (v, p, out) => {
        if (typeof v !== 'number' || !Number.isInteger(v)) return void out.push(`${p}: expected an integer, got ${JSON.stringify(v)}`);
        if (opts.minimum !== undefined && v < opts.minimum) out.push(`${p}: ${v} is below the minimum ${opts.minimum}`);
        if (opts.maximum !== undefined && v > opts.maximum) out.push(`${p}: ${v} is above the maximum ${opts.maximum}`);
      },
      opts.description,
    );
  },

  number(opts: { minimum?: number; maximum?: number; description?: string } = {}): Schema<number> {
    return base<number>(
      () => ({ type: 'number', ...(opts.minimum !== undefined ? { minimum: opts.minimum } : {}), ...(opts.maximum !== undefined ? { maximum: opts.maximum } : {}) }),
      (v, p, out) => {
        if (typeof v !== 'number' || !Number.isFinite(v)) return void out.push(`${p}: expected a number, got ${JSON.stringify(v)}`);
        if (opts.minimum !== undefined && v < opts.minimum) out.push(`${p}: ${v} is below the minimum ${opts.minimum}`);
        if (opts.maximum !== undefined && v > opts.maximum) out.push(`${p}: ${v} is above the maximum ${opts.maximum}`);
      },
      opts.description,
    );
  },

  boolean(description?: string): Schema<boolean> {
    return base<boolean>(
      () => ({ type: 'boolean' }),
      (v, p, out) => {
        if (typeof v !== 'boolean') out.push(`${p}: expected a boolean, got ${typeOf(v)}`);
      },
      description,
    );
  },

  /**
   * A list. `mapKeys` makes it a Kubernetes list-map keyed by those (required) fields: the API server
   * refuses two items with the same key and server-side apply merges per item; the runtime validator
   * leaves duplicates to the model builder (which reports them with their own code).
   */
  array<T>(items: Schema<T>, opts: { minItems?: number; maxItems?: number; description?: string; mapKeys?: readonly string[] } = {}): Schema<readonly T[]> {
    return base<readonly T[]>(
      () => ({
        type: 'array',
        items: items.toOpenApi(),
        ...(opts.minItems !== undefined ? { minItems: opts.minItems } : {}),
        ...(opts.maxItems !== undefined ? { maxItems: opts.maxItems } : {}),
        ...(opts.mapKeys ? { 'x-kubernetes-list-type': 'map' as const, 'x-kubernetes-list-map-keys': opts.mapKeys } : {}),
      }),
      (v, p, out) => {
        if (!Array.isArray(v)) return void out.push(`${p}: expected an array, got ${typeOf(v)}`);
        if (opts.minItems !== undefined && v.length < opts.minItems) out.push(`${p}: needs at least ${opts.minItems} item(s)`);
        if (opts.maxItems !== undefined && v.length > opts.maxItems) out.push(`${p}: allows at most ${opts.maxItems} item(s)`);
        v.forEach((item, i) => items.validate(item, `${p}[${i}]`, out));
      },
      opts.description,
    );
  },

  /** A map with string keys (`additionalProperties` in OpenAPI). */
  record<T>(values: Schema<T>, description?: string): Schema<Readonly<Record<string, T>>> {
    return base<Readonly<Record<string, T>>>(
      () => ({ type: 'object', additionalProperties: values.toOpenApi() }),
      (v, p, out) => {
        if (typeOf(v) !== 'object') return void out.push(`${p}: expected an object, got ${typeOf(v)}`);
        for (const [k, item] of Object.entries(v as object)) values.validate(item, `${p}.${k}`, out);
      },
      description,
    );
  },

  /** An object with known fields. Unknown fields are rejected: a typo must never be dropped silently. */
  object<P extends Shape>(shape: P, description?: string): Schema<InferShape<P>> {
    const required = Object.keys(shape).filter((k) => !shape[k].optional);
    return base<InferShape<P>>(
      () => ({
        type: 'object',
        properties: Object.fromEntries(Object.entries(shape).map(([k, v]) => [k, v.toOpenApi()])),
        ...(required.length ? { required } : {}),
      }),
      (v, p, out) => {
        if (typeOf(v) !== 'object') return void out.push(`${p}: expected an object, got ${typeOf(v)}`);
        const obj = v as Record<string, unknown>;
        for (const k of Object.keys(obj)) {
          if (!(k in shape)) out.push(`${p}: unknown field ${JSON.stringify(k)} (known: ${Object.keys(shape).join(', ')})`);
        }
        for (const [k, child] of Object.entries(shape)) {
          if (obj[k] === undefined) {
            if (!child.optional) out.push(`${p}.${k}: is required`);
          } else child.validate(obj[k], `${p}.${k}`, out);
        }
      },
      description,
    );
  },

  /** Any JSON value (opaque payloads such as xDS resources in a bootstrap). */
  any(description?: string): Schema<unknown> {
    return base<unknown>(() => ({ 'x-kubernetes-preserve-unknown-fields': true }), () => undefined, description);
  },

  /**
   * Adds CEL admission rules to `inner`'s CRD schema. They only reach the API server: at run time the
   * model builder makes the same checks and reports them with their own codes (see api/crds.ts).
   */
  cel<T>(inner: Schema<T>, rules: readonly CelRule[]): Schema<T> {
    return { ...inner, toOpenApi: () => ({ ...inner.toOpenApi(), 'x-kubernetes-validations': rules }) };
  },

  /** Marks a field optional (`required` omits it; the type gets `?`). */
  optional<T>(inner: Schema<T>): Schema<T> & { readonly optional: true } {
    return { ...inner, optional: true };
  },
};

/** Validates `value` against `schema`; returns it typed or throws one error listing every problem. */
export function check<T>(schema: Schema<T>, value: unknown, what: string, path = '$'): T {
  const problems: string[] = [];
  schema.validate(value, path, problems);
  if (problems.length) throw new InvalidConfigError(what, problems);
  return value as T;
}

/** Every problem with `value`, or an empty list. */
export function problemsOf<T>(schema: Schema<T>, value: unknown, path = '$'): string[] {
  const problems: string[] = [];
  schema.validate(value, path, problems);
  return problems;
}
