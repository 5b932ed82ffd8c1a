/**
 * Errors of the control plane's sources. A source never throws its last good snapshot away: these
 * errors are reported (logged, kept as `lastError`) while the mesh keeps running on what it had.
 */
import { WeftError } from '../../api/errors';

/** Stable codes of source errors. */
export const SOURCE_ERROR_CODES = {
  /** A manifest file could not be parsed; the last good resources stay in force. */
  manifest: 'WEFT_ERR_SOURCE_MANIFEST',
  /** The manifest directory does not exist or cannot be read. */
  dir: 'WEFT_ERR_SOURCE_DIR',
  /** The static endpoints file is not a JSON array of endpoints. */
  endpoints: 'WEFT_ERR_SOURCE_ENDPOINTS',
  /** A self-registered endpoint is malformed. */
  register: 'WEFT_ERR_SOURCE_REGISTER',
  /** A Kubernetes list or watch failed (the informer is restarted with backoff). */
  watch: 'WEFT_ERR_K8S_WATCH',
  /** A fresh list disagreed with a watch-fed cache (a silently stalled watch); the informer is replaced. */
  stale: 'WEFT_ERR_K8S_WATCH_STALE',
  /** A meshed pod runs under another ServiceAccount than its MeshService names; it is left out. */
  identity: 'WEFT_ERR_K8S_IDENTITY_MISMATCH',
  /** The informers did not finish their first list in time. */
  sync: 'WEFT_ERR_K8S_SYNC_TIMEOUT',
  /** Writing `status.conditions` back through the status subresource failed. */
  status: 'WEFT_ERR_K8S_STATUS',
  /** Writing the local status file failed. */
  statusFile: 'WEFT_ERR_SOURCE_STATUS_FILE',
} as const;

/** Something a source could not read, watch or write. `code` is one of SOURCE_ERROR_CODES. */
export class SourceError extends WeftError {
  constructor(code: (typeof SOURCE_ERROR_CODES)[keyof typeof SOURCE_ERROR_CODES], message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'SourceError';
  }
}
