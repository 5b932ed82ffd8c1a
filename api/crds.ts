/** CRD manifests for every weft kind, generated from the same schemas the validators use. */
import { API_VERSION, GROUP, KINDS, Kind, VERSION, WeftResource, statusSchema } from './resources';
import { Schema, problemsOf } from './schema';
import { InvalidConfigError } from './errors';

/** The CustomResourceDefinition object of one kind (apiextensions.k8s.io/v1). */
export function crdFor(kind: Kind): Record<string, unknown> {
  const k = KINDS[kind];
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${k.plural}.${GROUP}`, labels: { 'app.kubernetes.io/part-of': 'weft' } },
    spec: {
      group: GROUP,
      scope: k.scope,
      names: { kind, plural: k.plural, singular: kind.toLowerCase(), listKind: `${kind}List`, categories: ['weft'] },
      versions: [{
        name: VERSION,
        served: true,
        storage: true,
        subresources: { status: {} },
        schema: {
          openAPIV3Schema: {
            type: 'object',
            properties: {
              apiVersion: { type: 'string' },
              kind: { type: 'string' },
              metadata: { type: 'object' },
              spec: k.schema.toOpenApi(),
              status: statusSchema.toOpenApi(),
            },
            required: ['spec'],
          },
        },
      }],
    },
  };
}

/** CRDs of every kind, in a stable order. */
export function allCrds(): Record<string, unknown>[] {
  return (Object.keys(KINDS) as Kind[]).map(crdFor);
}

/** Problems of a custom resource against its kind's schema (empty when valid). */
export function resourceProblems(obj: { apiVersion?: string; kind?: string; spec?: unknown }): string[] {
  if (obj.apiVersion !== API_VERSION) return [`apiVersion: expected ${API_VERSION}, got ${JSON.stringify(obj.apiVersion)}`];
  const k = KINDS[obj.kind as Kind];
  if (!k) return [`kind: ${JSON.stringify(obj.kind)} is not a weft kind (${Object.keys(KINDS).join(', ')})`];
  return problemsOf(k.schema as Schema<unknown>, obj.spec, 'spec');
}

/** Returns `obj` typed when it is a valid weft resource; throws WEFT_ERR_INVALID_CONFIG otherwise. */
export function parseResource<S>(obj: unknown): WeftResource<S> {
  const o = (obj ?? {}) as { apiVersion?: string; kind?: string; spec?: unknown; metadata?: { name?: string } };
  const problems = resourceProblems(o);
  if (!o.metadata?.name) problems.push('metadata.name: is required');
  if (problems.length) throw new InvalidConfigError(`${o.kind ?? 'resource'} ${o.metadata?.name ?? ''}`.trim(), problems);
  return o as unknown as WeftResource<S>;
}
