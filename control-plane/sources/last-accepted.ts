/**
 * Where sources keep the last accepted version of each resource between processes: Kubernetes in
 * `status.lastAcceptedSpec` (a JSON string, so a merge patch replaces it whole) and
 * `status.lastAcceptedGeneration`; the local source in its status file (`resources[].lastAccepted`).
 */
import { API_VERSION, KINDS, Kind, WeftResource } from '../../api/resources';
import type { ResourceStatus } from '../../api/status';

/** The status fields that carry `st.lastAccepted` (undefined when it has none). */
export function lastAcceptedFields(st: ResourceStatus): { lastAcceptedSpec: string; lastAcceptedGeneration?: number } | undefined {
  if (!st.lastAccepted) return undefined;
  return { lastAcceptedSpec: JSON.stringify(st.lastAccepted.spec), ...(st.lastAccepted.generation !== undefined ? { lastAcceptedGeneration: st.lastAccepted.generation } : {}) };
}

/** Whether the object's status already holds exactly these fields. */
export function sameLastAccepted(status: { lastAcceptedSpec?: unknown; lastAcceptedGeneration?: unknown } | undefined, fields: ReturnType<typeof lastAcceptedFields>): boolean {
  if (!fields) return true; // nothing to write: never erase what another replica stored
  return status?.lastAcceptedSpec === fields.lastAcceptedSpec && status?.lastAcceptedGeneration === fields.lastAcceptedGeneration;
}

/** The remembered version of a cluster object, from its status (undefined when absent or unreadable). */
export function lastAcceptedOfObject(kind: Kind, o: { metadata?: { name?: string; namespace?: string }; status?: unknown }): WeftResource<unknown> | undefined {
  const st = o.status as { lastAcceptedSpec?: unknown; lastAcceptedGeneration?: unknown } | undefined;
  if (typeof st?.lastAcceptedSpec !== 'string' || !o.metadata?.name) return undefined;
  let spec: unknown;
  try {
    spec = JSON.parse(st.lastAcceptedSpec);
  } catch {
    return undefined; // not ours or damaged: the resource then counts as never accepted (fail closed)
  }
  const generation = typeof st.lastAcceptedGeneration === 'number' ? st.lastAcceptedGeneration : undefined;
  return { apiVersion: API_VERSION, kind, metadata: { name: o.metadata.name, ...(o.metadata.namespace ? { namespace: o.metadata.namespace } : {}), ...(generation !== undefined ? { generation } : {}) }, spec };
}

/** The remembered versions in a local status file's text (empty when absent or unreadable). */
export function lastAcceptedOfStatusFile(text: string | undefined): WeftResource<unknown>[] {
  if (!text) return [];
  let doc: { resources?: unknown };
  try {
    doc = JSON.parse(text) as { resources?: unknown };
  } catch {
    return [];
  }
  if (!Array.isArray(doc.resources)) return [];
  const out: WeftResource<unknown>[] = [];
  for (const st of doc.resources as Partial<ResourceStatus>[]) {
    if (!st || typeof st.kind !== 'string' || !(st.kind in KINDS) || typeof st.name !== 'string' || !st.lastAccepted) continue;
    const { generation, spec } = st.lastAccepted;
    out.push({ apiVersion: API_VERSION, kind: st.kind as Kind, metadata: { name: st.name, ...(st.namespace ? { namespace: st.namespace } : {}), ...(typeof generation === 'number' ? { generation } : {}) }, spec });
  }
  return out;
}
