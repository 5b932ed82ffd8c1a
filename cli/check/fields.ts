/**
 * Unknown-field detection for Kubernetes objects. kubernetes-models' validators accept any extra
 * key, so `spec.replicaz: 3` would pass; this walks the object along the field table generated
 * from client-node's models (k8s-fields.json, see gen-k8s-fields.mjs) and names every unknown key.
 */

interface FieldTable {
  /** `apiVersion/kind` → type name. */
  readonly kinds: Readonly<Record<string, string>>;
  /** type name → field name → type (`string`, `V1Container`, `Array<V1EnvVar>`, `{ [key: string]: string; }`). */
  readonly types: Readonly<Record<string, Readonly<Record<string, string>>>>;
}

let table: FieldTable | undefined;
function fieldTable(): FieldTable {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  table ??= require('./k8s-fields.json') as FieldTable;
  return table;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Edit distance counting a swap of neighbours as one edit (`lables` → `labels`), case-insensitive. */
function distance(a: string, b: string): number {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  const d: number[][] = Array.from({ length: x.length + 1 }, (_, i) => Array.from({ length: y.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= x.length; i++) {
    for (let j = 1; j <= y.length; j++) {
      const cost = x[i - 1] === y[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && x[i - 1] === y[j - 2] && x[i - 2] === y[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[x.length][y.length];
}

/** The closest known name when it is a plausible typo of `key`. */
export function suggest(key: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const k of known) {
    const d = distance(key, k);
    if (d < bestD) [best, bestD] = [k, d];
  }
  return best !== undefined && bestD <= Math.max(1, Math.floor(key.length / 4)) ? best : undefined;
}

const join = (path: string, key: string) => (path ? `${path}.${key}` : key);

function walk(value: unknown, type: string, path: string, out: [string, string][]): void {
  const { types } = fieldTable();
  const array = /^Array<(.+)>$/.exec(type);
  if (array) {
    if (Array.isArray(value)) value.forEach((item, i) => walk(item, array[1], `${path}[${i}]`, out));
    return;
  }
  const map = /^\{ \[key: string\]: (.+); \}$/.exec(type);
  if (map) {
    if (isPlainObject(value)) for (const [k, v] of Object.entries(value)) walk(v, map[1], join(path, k), out);
    return;
  }
  const fields = types[type];
  if (!fields || !isPlainObject(value)) return; // a primitive, or a type mismatch kubernetes-models reports
  const known = Object.keys(fields);
  for (const [k, v] of Object.entries(value)) {
    if (k in fields) walk(v, fields[k], join(path, k), out);
    else {
      const hint = suggest(k, known);
      out.push([join(path, k), `unknown field ${JSON.stringify(k)}${hint ? `; did you mean ${JSON.stringify(hint)}?` : ''}`]);
    }
  }
}

/** Whether the field table knows `apiVersion`/`kind` (old beta versions are not in it). */
export function hasFieldTable(apiVersion: string, kind: string): boolean {
  return `${apiVersion}/${kind}` in fieldTable().kinds;
}

/** Every unknown field of `object` as `[field, message]`; empty when the kind is not in the table. */
export function unknownFields(apiVersion: string, kind: string, object: Record<string, unknown>): [string, string][] {
  const type = fieldTable().kinds[`${apiVersion}/${kind}`];
  const out: [string, string][] = [];
  if (type) walk(object, type, '', out);
  return out;
}
