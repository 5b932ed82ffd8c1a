/**
 * Reads the weft custom resources out of synthesized manifests (`dist/*.yaml`, multi-document).
 * All or nothing: one unparsable file fails the whole read, so a half-written file never empties
 * the mesh; the caller keeps its last good resources.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { API_VERSION, KINDS, WeftResource } from '../../api/resources';
import { SourceError, SOURCE_ERROR_CODES } from './errors';

/** Whether `file` is a manifest the local source reads. */
export function isManifestFile(file: string): boolean {
  return /\.ya?ml$/i.test(file) && !file.startsWith('.');
}

/** Parses one file's text; throws WEFT_ERR_SOURCE_MANIFEST naming the file and line. */
export function parseManifest(text: string, file: string): WeftResource<unknown>[] {
  const out: WeftResource<unknown>[] = [];
  const docs = parseAllDocuments(text, { prettyErrors: true });
  for (const [i, doc] of docs.entries()) {
    const err = doc.errors[0];
    if (err) throw new SourceError(SOURCE_ERROR_CODES.manifest, `${file}: document ${i + 1}: ${err.message.split('\n')[0]}`);
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) continue; // empty document (a trailing `---`)
    if (typeof value !== 'object' || Array.isArray(value)) throw new SourceError(SOURCE_ERROR_CODES.manifest, `${file}: document ${i + 1} is not a mapping`);
    const o = value as { apiVersion?: unknown; kind?: unknown; metadata?: { name?: unknown }; spec?: unknown };
    if (o.apiVersion !== API_VERSION || typeof o.kind !== 'string' || !(o.kind in KINDS)) continue; // Deployments, ConfigMaps, CRDs…
    if (typeof o.metadata?.name !== 'string' || o.metadata.name === '') {
      throw new SourceError(SOURCE_ERROR_CODES.manifest, `${file}: document ${i + 1} (${o.kind}) has no metadata.name`);
    }
    if (typeof o.spec !== 'object' || o.spec === null) throw new SourceError(SOURCE_ERROR_CODES.manifest, `${file}: ${o.kind} ${o.metadata.name} has no spec mapping`);
    out.push(value as WeftResource<unknown>);
  }
  return out;
}

/**
 * Reads every manifest in `dir` (not recursive), sorted, duplicates rejected. With
 * `allowNoFiles: false` a directory without manifests is an error: synth tools empty the directory
 * before writing it again, and that moment must not become an empty mesh.
 */
export async function readManifests(dir: string, opts: { readonly allowNoFiles?: boolean } = {}): Promise<WeftResource<unknown>[]> {
  let files: string[];
  try {
    files = (await readdir(dir)).filter(isManifestFile).sort();
  } catch (e) {
    throw new SourceError(SOURCE_ERROR_CODES.dir, `cannot read manifest directory ${dir}: ${(e as Error).message}`, { cause: e });
  }
  if (files.length === 0 && opts.allowNoFiles === false) {
    throw new SourceError(SOURCE_ERROR_CODES.manifest, `${dir} holds no manifests (being rewritten?); keeping the last good resources`);
  }
  const seen = new Map<string, string>();
  const all: WeftResource<unknown>[] = [];
  for (const file of files) {
    let text: string;
    try {
      text = await readFile(join(dir, file), 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue; // removed between readdir and read
      throw new SourceError(SOURCE_ERROR_CODES.manifest, `${file}: ${(e as Error).message}`, { cause: e });
    }
    // Writers truncate, then write: an empty file is almost always one caught in between. Deleting
    // the file is how resources are removed, so treat empty as "not finished" and keep the last good.
    if (text.trim() === '') throw new SourceError(SOURCE_ERROR_CODES.manifest, `${file} is empty (still being written?); delete it to remove its resources`);
    for (const r of parseManifest(text, file)) {
      const key = `${r.kind}/${r.metadata.namespace ?? ''}/${r.metadata.name}`;
      const prev = seen.get(key);
      if (prev) throw new SourceError(SOURCE_ERROR_CODES.manifest, `${key} is defined twice (${prev} and ${file}); keep one`);
      seen.set(key, file);
      all.push(r);
    }
  }
  return all.sort((a, b) => a.kind.localeCompare(b.kind) || (a.metadata.namespace ?? '').localeCompare(b.metadata.namespace ?? '') || a.metadata.name.localeCompare(b.metadata.name));
}
