/** What the control plane concluded about each custom resource; written back as `status.conditions`. */

/** The verdict on one resource (Gateway API style conditions `Accepted` and `ResolvedRefs`). */
export interface ResourceStatus {
  readonly kind: string;
  readonly namespace?: string;
  readonly name: string;
  /** False when the resource is invalid and was left out of the model. */
  readonly accepted: boolean;
  /** False when it names a service, version or identity that does not exist. */
  readonly resolvedRefs: boolean;
  /** CamelCase reason (`Accepted`, `InvalidSpec`, `UnknownVersion`, …). */
  readonly reason: string;
  /** Human text naming the problem; empty when all is well. */
  readonly message: string;
  /** Stable code of the first problem (`WEFT_ERR_…`), when there is one. */
  readonly code?: string;
  /**
   * For a rejected resource, what the control plane serves in its place (set by the control plane,
   * not by `buildModel`): `last-accepted` — its last accepted version; `deny-all` — a policy never
   * accepted, replaced by a deny-everything placeholder (fail closed); `none` — nothing (a route
   * never accepted is left out).
   */
  readonly inForce?: InForce;
  /**
   * The accepted version being served for this resource (set by the control plane): what a source
   * persists (`status.lastAcceptedSpec` in Kubernetes, the status file locally) so a restarted
   * control plane or another replica keeps serving it while the current version is rejected.
   */
  readonly lastAccepted?: { readonly generation?: number; readonly spec: unknown };
}

/** What stays in force for a rejected resource; see `ResourceStatus.inForce`. */
export type InForce = 'last-accepted' | 'deny-all' | 'none';
