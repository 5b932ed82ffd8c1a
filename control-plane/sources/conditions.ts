/**
 * ResourceStatus → `status.conditions` (Gateway API style `Accepted` and `ResolvedRefs`), and the
 * comparison that keeps writes to "only when changed": lastTransitionTime moves only on a flip.
 */
import type { Condition } from '../../api/resources';
import type { ResourceStatus } from '../../api/status';

/** The condition types weft writes. */
export const CONDITION_TYPES = ['Accepted', 'ResolvedRefs'] as const;

/** The message shown on a condition: the code first so `kubectl get -o yaml` readers can grep it. */
function messageOf(s: ResourceStatus): string {
  if (!s.message) return '';
  return s.code ? `${s.code}: ${s.message}` : s.message;
}

/**
 * The conditions for `status`, reusing `previous` transition times when a condition's status did
 * not change. `now` is injected so callers (and tests) control time.
 */
export function conditionsFor(status: ResourceStatus, generation: number | undefined, previous: readonly Condition[] | undefined, now: Date): Condition[] {
  const wanted: Omit<Condition, 'lastTransitionTime'>[] = [
    {
      type: 'Accepted',
      status: status.accepted ? 'True' : 'False',
      reason: status.accepted ? 'Accepted' : status.reason || 'Invalid',
      message: status.accepted ? '' : messageOf(status),
      ...(generation !== undefined ? { observedGeneration: generation } : {}),
    },
    {
      type: 'ResolvedRefs',
      status: status.resolvedRefs ? 'True' : 'False',
      reason: status.resolvedRefs ? 'ResolvedRefs' : status.reason || 'InvalidRef',
      message: status.resolvedRefs ? '' : messageOf(status),
      ...(generation !== undefined ? { observedGeneration: generation } : {}),
    },
  ];
  return wanted.map((c) => {
    const prev = previous?.find((p) => p.type === c.type);
    const lastTransitionTime = prev && prev.status === c.status && prev.lastTransitionTime ? prev.lastTransitionTime : now.toISOString().replace(/\.\d{3}Z$/, 'Z');
    return { ...c, lastTransitionTime };
  });
}

/** Whether two condition lists say the same thing (transition times aside). */
export function sameConditions(a: readonly Condition[] | undefined, b: readonly Condition[] | undefined): boolean {
  const norm = (list: readonly Condition[] | undefined) =>
    JSON.stringify(
      [...(list ?? [])]
        .map((c) => ({ type: c.type, status: c.status, reason: c.reason, message: c.message ?? '', observedGeneration: c.observedGeneration }))
        .sort((x, y) => x.type.localeCompare(y.type)),
    );
  return norm(a) === norm(b);
}
