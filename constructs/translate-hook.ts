/**
 * HOOK (not wired yet): once api/build-model.ts (`buildModel(resources, endpoints)`) and
 * api/translate.ts (`translate(model, clientKind)`) exist, call them here so a mesh the control
 * plane could not translate fails `cdk8s synth` with WEFT_ERR_UNTRANSLATABLE. They did not exist
 * when the constructs were written; meshProblems() covers the cross-resource rules until then.
 */
import { IConstruct } from 'constructs';
import { WeftResource } from '../api/resources';

/** Runs the translator over the synthesized resources; a no-op until the translator lands. */
export function translateHook(_resources: readonly WeftResource<unknown>[], _scope: IConstruct): void {
  // Intentionally empty; see the header comment.
}
