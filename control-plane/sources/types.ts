/** What every source (Kubernetes, local files) hands the control plane: resources plus endpoints. */
import type { EndpointModel } from '../../api/model';
import type { WeftResource } from '../../api/resources';
import type { ResourceStatus } from '../../api/status';

/** Everything a source knows at one moment. A source always emits whole snapshots (state of the world). */
export interface SourceSnapshot {
  /** weft.dev custom resources (already schema-valid or not: the model builder decides and reports). */
  readonly resources: readonly WeftResource<unknown>[];
  readonly endpoints: readonly EndpointModel[];
  /**
   * Last accepted versions the source remembers from outside this process (`status.lastAcceptedSpec`
   * written by any replica, or a previous run's status file). The control plane uses one only for a
   * resource it has no accepted version of in memory. @default none
   */
  readonly lastAccepted?: readonly WeftResource<unknown>[];
}

/** A producer of snapshots. */
export interface MeshSource {
  /** Starts watching; `onChange` gets a full snapshot after the initial sync and after every change. */
  start(onChange: (snapshot: SourceSnapshot) => void): Promise<void>;
  /** Writes the verdicts back where the source can (status.conditions in Kubernetes; a file locally). */
  reportStatus?(statuses: readonly ResourceStatus[]): Promise<void>;
  stop(): Promise<void>;
}
