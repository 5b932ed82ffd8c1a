/**
 * Kubernetes objects against the schemas of kubernetes-models (the OpenAPI of the Kubernetes API,
 * compiled to validators). Loaded lazily: requiring the whole package costs about a second.
 */

/** One ajv error as kubernetes-models reports it. */
interface AjvError {
  readonly instancePath: string;
  readonly keyword: string;
  readonly params: Record<string, unknown>;
  readonly message?: string;
}

/** A model class of kubernetes-models. */
interface ModelClass {
  readonly apiVersion: string;
  readonly kind: string;
  new (data: unknown): { validate(): void };
}

type Models = Record<string, Record<string, Record<string, ModelClass | undefined> | undefined> | undefined>;

let models: Models | undefined;
function allModels(): Models {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  models ??= require('kubernetes-models') as Models;
  return models;
}

/** `networking.k8s.io` → `networkingK8sIo` (the export name kubernetes-models uses); core is `v1`. */
function groupKey(group: string): string {
  return group.split('.').map((part, i) => (i === 0 ? part : part.charAt(0).toUpperCase() + part.slice(1))).join('');
}

/** The model class of `apiVersion`/`kind`, or undefined when kubernetes-models does not know it. */
export function kubeModel(apiVersion: string, kind: string): ModelClass | undefined {
  const slash = apiVersion.indexOf('/');
  const group = slash < 0 ? '' : apiVersion.slice(0, slash);
  const version = slash < 0 ? apiVersion : apiVersion.slice(slash + 1);
  const m = allModels();
  const byVersion = group === '' ? { [version]: m[version] } : m[groupKey(group)];
  const cls = byVersion?.[version]?.[kind];
  return typeof cls === 'function' && cls.apiVersion === apiVersion && cls.kind === kind ? cls : undefined;
}

/** `/spec/ports/0/port` → `spec.ports[0].port`. */
export function pointerToField(pointer: string): string {
  let out = '';
  for (const raw of pointer.split('/').slice(1)) {
    const seg = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    out += /^\d+$/.test(seg) ? `[${seg}]` : out ? `.${seg}` : seg;
  }
  return out;
}

function valueAt(obj: unknown, pointer: string): unknown {
  let v = obj;
  for (const raw of pointer.split('/').slice(1)) {
    if (typeof v !== 'object' || v === null) return undefined;
    v = (v as Record<string, unknown>)[raw.replace(/~1/g, '/').replace(/~0/g, '~')];
  }
  return v;
}

/** Problems of one object as `[field, message]`, one per field; empty when valid. */
export function kubeProblems(cls: ModelClass, object: Record<string, unknown>): [string, string][] {
  try {
    new cls(object).validate();
    return [];
  } catch (e) {
    const errors = (e as { errors?: AjvError[] }).errors;
    if (!Array.isArray(errors)) return [['', (e as Error).message]];
    // Group by field: an IntOrString mismatch yields three errors (two types and a oneOf) for one field.
    const byField = new Map<string, AjvError[]>();
    for (const err of errors) {
      const field = err.keyword === 'required' ? `${err.instancePath}/${String(err.params.missingProperty)}` : err.instancePath;
      byField.set(field, [...(byField.get(field) ?? []), err]);
    }
    return [...byField].map(([pointer, errs]) => [pointerToField(pointer), describe(errs, valueAt(object, pointer))]);
  }
}

function describe(errs: AjvError[], value: unknown): string {
  const got = value === undefined ? '' : ` (got ${JSON.stringify(value)})`;
  if (errs.some((e) => e.keyword === 'required')) return 'is required';
  const types = errs.filter((e) => e.keyword === 'type').map((e) => String(e.params.type));
  const enums = errs.find((e) => e.keyword === 'enum');
  if (enums) return `must be one of ${(enums.params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}${got}`;
  if (types.length) return `must be ${[...new Set(types)].join(' or ')}${got}`;
  return `${[...new Set(errs.map((e) => e.message ?? e.keyword))].join('; ')}${got}`;
}
