/**
 * The cdk8s validation plugin named in cdk8s.yaml: `cdk8s synth` hands it the manifests it wrote,
 * and it reports every schema or mesh-rule violation (the synth then exits non-zero).
 */
import type { Validation, ValidationContext } from 'cdk8s-cli/lib/plugins/validation';
import { manifestProblems } from './k8s-schema';

const FIX: Record<string, string> = {
  'kubernetes-schema': 'fix the field the message names (a construct bug if the object came from weft)',
  'weft-crd-schema': 'fix the custom resource so it matches the weft.dev CRD',
  'weft-mesh-rules': 'see docs/constructs.md for the code',
  'weft-native-sidecar': 'run the weft proxy as an initContainer with restartPolicy: Always',
};

/** Validates synthesized manifests offline against Kubernetes and weft schemas. */
export class WeftManifestValidation implements Validation {
  constructor(_props: Record<string, unknown> = {}) {}

  public async validate(context: ValidationContext): Promise<void> {
    let objects = 0;
    let failures = 0;
    for (const manifestPath of context.manifests) {
      const docs = context.parseManifest(manifestPath).filter((d: unknown) => d != null);
      objects += docs.length;
      for (const p of manifestProblems(docs)) {
        failures++;
        context.report.addViolation({
          ruleName: p.code ? `${p.rule} ${p.code}` : p.rule,
          recommendation: p.message,
          fix: FIX[p.rule] ?? '',
          violatingResources: [{ resourceName: p.name, locations: [`${p.kind} ${p.namespace ? `${p.namespace}/` : ''}${p.name} ${p.location}`], manifestPath }],
        });
      }
    }
    context.logger.log(`weft: validated ${objects} objects in ${context.manifests.length} manifest(s): ${failures} problem(s)`);
    context.report.submit(failures ? 'failure' : 'success', { objects: String(objects) });
  }
}
