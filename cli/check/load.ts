/**
 * Reads a `dist/` directory for `weft check`: every YAML/JSON manifest file, each document a
 * located object, so a problem can name its file and line. Unparsable files become problems,
 * not exceptions: one bad file must not hide the problems of the others.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Document, LineCounter, Node as YamlNode, isMap, isNode, isScalar, isSeq, parseAllDocuments } from 'yaml';
import { CheckProblem, UsageError } from './problems';

/** One object of the dist, with where it came from. */
export interface Manifest {
  /** File path relative to the dist dir. */
  readonly file: string;
  /** Index of the YAML document in its file (0-based); items of a `List` share their document's index. */
  readonly doc: number;
  readonly object: Record<string, unknown>;
  /** Line of a field (`spec.ports[0].port`), or of the nearest existing parent; 1-based. */
  lineOf(field: string): number | undefined;
}

/** What {@link loadDist} found. */
export interface LoadedDist {
  readonly files: readonly string[];
  readonly manifests: readonly Manifest[];
  readonly problems: readonly CheckProblem[];
}

const MANIFEST_FILE = /\.(ya?ml|json)$/i;
/** Files cdk8s writes next to the manifests that are not manifests. */
const NOT_MANIFESTS: ReadonlySet<string> = new Set(['construct-metadata.json']);

/** Manifest files under `dir`, sorted, recursively; hidden entries and node_modules skipped. */
function listFiles(dir: string, rel = ''): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    if (e.name.startsWith('.') || e.name === 'node_modules') continue;
    const p = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...listFiles(dir, p));
    else if (e.isFile() && MANIFEST_FILE.test(e.name) && !NOT_MANIFESTS.has(e.name)) out.push(p);
  }
  return out;
}

/** `spec.ports[0].port` → `['spec', 'ports', 0, 'port']`; `data["a.json"]` → `['data', 'a.json']`. */
export function fieldKeys(field: string): (string | number)[] {
  const keys: (string | number)[] = [];
  for (const m of field.matchAll(/\["([^"]*)"\]|\[(\d+)\]|([^.[\]]+)/g)) keys.push(m[2] !== undefined ? Number(m[2]) : m[1] ?? m[3]);
  return keys;
}

/** The node a field names: for a map entry its key (`backends:`), so a block value points at its name. */
function nodeAt(doc: Document.Parsed, keys: (string | number)[]): YamlNode | undefined {
  const parent = keys.length === 1 ? doc.contents : doc.getIn(keys.slice(0, -1), true);
  const last = keys[keys.length - 1];
  if (isMap(parent)) {
    const pair = parent.items.find((p) => isScalar(p.key) && String(p.key.value) === String(last));
    return isNode(pair?.key) ? pair.key : undefined;
  }
  if (isSeq(parent) && typeof last === 'number') {
    const item = parent.items[last];
    return isNode(item) ? item : undefined;
  }
  return undefined;
}

function locator(doc: Document.Parsed, lines: LineCounter, prefix: (string | number)[]): (field: string) => number | undefined {
  return (field) => {
    const keys = [...prefix, ...fieldKeys(field)];
    for (let n = keys.length; n >= 0; n--) {
      const node = n === 0 ? doc.contents : nodeAt(doc, keys.slice(0, n));
      if (isNode(node) && node.range) return lines.linePos(node.range[0]).line;
    }
    return undefined;
  };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Loads every manifest under `dir`. Throws {@link UsageError} when `dir` is not a readable directory or holds none. */
export function loadDist(dir: string): LoadedDist {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(dir);
  } catch {
    throw new UsageError('WEFT_ERR_CHECK_NO_DIST', `${dir} does not exist (run \`cdk8s synth\` first, or pass the directory holding the manifests)`);
  }
  if (!stat.isDirectory()) throw new UsageError('WEFT_ERR_CHECK_NO_DIST', `${dir} is not a directory`);
  const files = listFiles(dir);
  if (!files.length) throw new UsageError('WEFT_ERR_CHECK_EMPTY', `${dir} holds no .yaml, .yml or .json files`);

  const manifests: Manifest[] = [];
  const problems: CheckProblem[] = [];
  for (const file of files) {
    const text = fs.readFileSync(path.join(dir, file), 'utf8');
    const lines = new LineCounter();
    const docs = parseAllDocuments(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
    const list = Array.isArray(docs) ? docs : [];
    list.forEach((doc, i) => {
      if (doc.errors.length) {
        for (const e of doc.errors) {
          problems.push({ code: 'WEFT_ERR_CHECK_YAML', object: `${file}#${i}`, field: '', message: e.message.split('\n')[0], file, line: lines.linePos(e.pos[0]).line });
        }
        return;
      }
      let value: unknown;
      try {
        value = doc.toJS({ maxAliasCount: 100 });
      } catch (e) {
        // An alias bomb (or another unrepresentable document) is this document's problem, not the run's.
        problems.push({ code: 'WEFT_ERR_CHECK_YAML', object: `${file}#${i}`, field: '', message: (e as Error).message, file, line: lines.linePos(doc.range[0]).line });
        return;
      }
      if (value === null || value === undefined) return; // an empty document (`---` at the end)
      const add = (object: unknown, prefix: (string | number)[]) => {
        const lineOf = locator(doc, lines, prefix);
        if (!isObject(object) || typeof object.apiVersion !== 'string' || typeof object.kind !== 'string') {
          problems.push({ code: 'WEFT_ERR_CHECK_NOT_A_RESOURCE', object: `${file}#${i}`, field: isObject(object) ? (typeof object.apiVersion !== 'string' ? 'apiVersion' : 'kind') : '', message: 'expected a Kubernetes object with string apiVersion and kind', file, line: lineOf('') });
          return;
        }
        manifests.push({ file, doc: i, object, lineOf });
      };
      if (isObject(value) && typeof value.kind === 'string' && value.kind.endsWith('List') && Array.isArray(value.items)) {
        value.items.forEach((item, j) => add(item, ['items', j]));
      } else add(value, []);
    });
  }
  return { files, manifests, problems };
}
