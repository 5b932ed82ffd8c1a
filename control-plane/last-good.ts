/**
 * Last good, never nothing: between any source and the served model, a rejected resource is replaced
 * by its last accepted version (per kind/namespace/name), and a policy never accepted by a
 * deny-everything placeholder, so no rejected change ever loosens traffic or authorization.
 */
import { buildModel, BuildResult, DEFAULT_NAMESPACE } from '../api/build-model';
import type { EndpointModel } from '../api/model';
import { DNS1123_LABEL } from '../api/names';
import { KINDS, mtlsPolicySpecSchema, MtlsPolicySpec, WeftResource } from '../api/resources';
import { problemsOf } from '../api/schema';
import type { InForce, ResourceStatus } from '../api/status';

/** Name of the rule a deny-all placeholder carries (it shows in `weft-error` headers and logs). */
export const REJECTED_POLICY_RULE = 'weft-rejected';

/** Dependency order: a substitute of a lower rank can change the verdicts of the higher ones. */
const RANK: Record<string, number> = { MeshConfig: 0, MeshService: 1, CanaryRoute: 2, MtlsPolicy: 2 };
/** Verdicts about references (the target does not exist): a placeholder would select nothing either. */
const REF_REASONS = new Set(['UnknownService', 'UnknownPort']);

type Res = WeftResource<unknown>;

/** `kind/namespace/name`, the identity of a resource across edits (MeshConfig is cluster-scoped). */
export function resourceKey(r: { kind: string; namespace?: string; name: string }): string {
  return `${r.kind}/${r.kind === 'MeshConfig' ? '' : r.namespace ?? DEFAULT_NAMESPACE}/${r.name}`;
}
const keyOfResource = (r: Res) => resourceKey({ kind: r.kind, namespace: r.metadata?.namespace, name: r.metadata?.name ?? '' });

/**
 * The placeholder served for an MtlsPolicy that was rejected and never accepted: one DENY rule with
 * no `from`/`to`, which matches every caller (plaintext included) on every port of what it selects.
 * It selects what the written `spec.scope` selects when that scope is readable (passes its schema);
 * otherwise the whole namespace (`spec.scope.namespace` if that one field is a valid label, else
 * the policy's own namespace). A readable absent scope in the mesh root namespace stays mesh-wide,
 * as the policy would have been. `wholeNamespace` forces the namespace form (used when a readable
 * scope still cannot be applied, e.g. `port` without `service`).
 */
export function denyAllPlaceholder(r: WeftResource<unknown>, wholeNamespace = false): WeftResource<MtlsPolicySpec> {
  const spec = (r.spec ?? {}) as { scope?: unknown };
  const readable = !wholeNamespace && problemsOf(mtlsPolicySpecSchema, { scope: spec.scope }, 'spec').length === 0;
  let scope: MtlsPolicySpec['scope'];
  if (readable) scope = spec.scope as MtlsPolicySpec['scope'];
  else {
    const ns = (spec.scope as { namespace?: unknown } | null | undefined)?.namespace;
    scope = { namespace: typeof ns === 'string' && DNS1123_LABEL.test(ns) ? ns : r.metadata?.namespace ?? DEFAULT_NAMESPACE };
  }
  return {
    apiVersion: r.apiVersion,
    kind: 'MtlsPolicy',
    metadata: r.metadata,
    spec: { ...(scope ? { scope } : {}), rules: [{ name: REJECTED_POLICY_RULE, action: 'DENY' }] },
  };
}

const acceptedOf = (r: Res) => ({ ...(r.metadata.generation !== undefined ? { generation: r.metadata.generation } : {}), spec: r.spec });

/** One resource the control plane rejected, and what it serves instead. */
export interface Rejection {
  readonly kind: string;
  readonly namespace?: string;
  readonly name: string;
  readonly code: string;
  readonly reason: string;
  readonly message: string;
  readonly inForce: InForce;
}

/** The statuses' rejections, in a stable order (for `/status`, logs and the CLI). */
export function rejectionsOf(statuses: readonly ResourceStatus[]): Rejection[] {
  return statuses
    .filter((s) => !s.accepted)
    .map((s) => ({ kind: s.kind, ...(s.namespace !== undefined ? { namespace: s.namespace } : {}), name: s.name, code: s.code ?? 'WEFT_ERR_INVALID_CONFIG', reason: s.reason, message: s.message, inForce: s.inForce ?? 'none' }))
    .sort((a, b) => resourceKey(a).localeCompare(resourceKey(b)));
}

/** One line per rejection, as the control-plane log and the CLI print it (the message says what is in force). */
export function describeRejection(r: Rejection): string {
  return `${r.code}: ${r.kind} ${r.namespace ? `${r.namespace}/` : ''}${r.name} rejected (${r.reason}): ${r.message}`;
}

/** The sentence appended to a rejection's message (so `kubectl describe` and status.json say it too). */
export function inForceText(inForce: InForce, generation?: number): string {
  if (inForce === 'last-accepted') return `the last accepted version${generation !== undefined ? ` (generation ${generation})` : ''} stays in force`;
  if (inForce === 'deny-all') return 'never accepted: a deny-all placeholder is served instead, so everything it selects is DENIED until it is fixed';
  return 'nothing is served for it';
}

/**
 * Builds models from whole snapshots and remembers, per resource, the last version that was
 * accepted. Across processes the sources carry that history (`SourceSnapshot.lastAccepted`, fed by
 * `ResourceStatus.lastAccepted`); without it a rejected policy denies and a rejected route is left
 * out until a valid version is applied.
 */
export class LastGoodModel {
  private readonly accepted = new Map<string, Res>();

  /**
   * The model to serve and one status per input resource (rejections carry `inForce`; whatever is
   * served as accepted carries `lastAccepted`). `remembered` (SourceSnapshot.lastAccepted) stands in
   * for a resource with no accepted version in memory: a restart or another replica's history.
   */
  build(resources: readonly Res[], endpoints: readonly EndpointModel[], remembered: readonly Res[] = []): BuildResult {
    const input = new Map<string, Res>();
    for (const r of resources) if (r?.metadata?.name && r.kind in KINDS) input.set(keyOfResource(r), r);
    const fromOutside = new Map(remembered.filter((r) => r?.metadata?.name && r.kind in KINDS).map((r) => [keyOfResource(r), r]));
    const lastOf = (key: string) => this.accepted.get(key) ?? fromOutside.get(key);
    let current = [...resources];
    let built = buildModel(current, endpoints);
    /** key → the original rejection and what replaced the resource. */
    const replaced = new Map<string, { status: ResourceStatus; by: 'last-accepted' | 'deny-all' }>();
    for (const rank of [0, 1, 2]) {
      const swaps = new Map<string, Res>();
      for (const st of built.statuses) {
        if (st.accepted || RANK[st.kind] !== rank) continue;
        const key = resourceKey(st);
        if (replaced.has(key) || !input.has(key)) continue;
        const last = lastOf(key);
        if (last) {
          swaps.set(key, last);
          replaced.set(key, { status: st, by: 'last-accepted' });
        } else if (st.kind === 'MtlsPolicy' && !REF_REASONS.has(st.reason)) {
          swaps.set(key, denyAllPlaceholder(input.get(key)!));
          replaced.set(key, { status: st, by: 'deny-all' });
        }
      }
      if (swaps.size === 0) continue;
      current = current.map((r) => swaps.get(keyOfResource(r)) ?? r);
      built = buildModel(current, endpoints);
    }
    // A remembered policy that today's rules reject too (stored before an upgrade added a rule, or a
    // history written by hand) must not leave nothing in force: it becomes a deny-all placeholder.
    const stale = new Map<string, Res>();
    for (const st of built.statuses) {
      const key = resourceKey(st);
      const rep = replaced.get(key);
      if (!st.accepted && st.kind === 'MtlsPolicy' && !REF_REASONS.has(st.reason) && rep?.by === 'last-accepted') {
        stale.set(key, denyAllPlaceholder(input.get(key)!));
        replaced.set(key, { status: rep.status, by: 'deny-all' });
      }
    }
    if (stale.size) {
      current = current.map((r) => stale.get(keyOfResource(r)) ?? r);
      built = buildModel(current, endpoints);
    }
    // A placeholder whose readable scope is contradictory (e.g. `port` without `service`) is refused
    // like its policy: widen it to the namespace rather than serve nothing.
    const widen = new Map<string, Res>();
    for (const st of built.statuses) {
      const key = resourceKey(st);
      if (!st.accepted && !REF_REASONS.has(st.reason) && replaced.get(key)?.by === 'deny-all') widen.set(key, denyAllPlaceholder(input.get(key)!, true));
    }
    if (widen.size) built = buildModel(current.map((r) => widen.get(keyOfResource(r)) ?? r), endpoints);

    const statuses = built.statuses.map((st): ResourceStatus => {
      const key = resourceKey(st);
      const rep = replaced.get(key);
      if (rep) {
        const inForce: InForce = st.accepted ? rep.by : 'none';
        const last = inForce === 'last-accepted' ? lastOf(key) : undefined;
        if (last) this.accepted.set(key, last); // a remembered version becomes this process's history
        const text = inForceText(inForce, last?.metadata.generation);
        return { ...rep.status, message: `${rep.status.message}; ${text}`, inForce, ...(last ? { lastAccepted: acceptedOf(last) } : {}) };
      }
      const r = input.get(key);
      if (st.accepted && r) {
        this.accepted.set(key, r);
        return { ...st, lastAccepted: acceptedOf(r) };
      }
      return st.accepted ? st : { ...st, message: `${st.message}; ${inForceText('none')}`, inForce: 'none' };
    });
    for (const key of [...this.accepted.keys()]) if (!input.has(key)) this.accepted.delete(key); // deleted: gone for good
    return { model: built.model, statuses };
  }
}
