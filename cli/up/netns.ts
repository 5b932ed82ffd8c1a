/** Transparent mode (--netns): not built yet; fails with a coded error. */
import type { MeshPlan } from './plan';
import { UP_ERRORS, UpError } from './errors';

/** Network namespaces of one run. */
export interface Networks {
  readonly hostAddress: string;
  replica(id: string): { readonly address: string; readonly wrap: (argv: readonly string[]) => readonly string[] } | undefined;
  destroy(): Promise<void>;
}

/** Creates the bridge and one namespace per replica. */
export async function createNetworks(_plan: MeshPlan, _stateDir: string): Promise<Networks> {
  throw new UpError(UP_ERRORS.netns, '--netns is not available yet', { exitCode: 2 });
}
