/**
 * Errors of the Pulumi stacks. Invalid mesh input still fails with the constructs' own coded
 * errors; these codes cover what only a deployment can get wrong (ordering, secrets, config shape).
 */
import { WeftError } from '../api/errors';

/** Stable codes of {@link WeftStackError}. */
export const STACK_ERRORS = {
  /** A synthesized object lacks apiVersion, kind or metadata.name. */
  INVALID_OBJECT: 'WEFT_ERR_STACK_INVALID_OBJECT',
  /** Two synthesized objects share group, kind, namespace and name. */
  DUPLICATE_OBJECT: 'WEFT_ERR_STACK_DUPLICATE_OBJECT',
  /** The objects' dependencies form a cycle, so no creation order exists. */
  DEPENDENCY_CYCLE: 'WEFT_ERR_STACK_DEPENDENCY_CYCLE',
  /** A Secret would carry private key material; the control plane makes its own CA key. */
  PRIVATE_KEY_MATERIAL: 'WEFT_ERR_STACK_PRIVATE_KEY_MATERIAL',
  /** A stack config value has the wrong shape (not a number, not an object, ...). */
  INVALID_CONFIG: 'WEFT_ERR_STACK_INVALID_CONFIG',
  /** `WeftMesh` got no `build` function (the component has no built-in mesh). */
  NO_BUILD: 'WEFT_ERR_STACK_NO_BUILD',
} as const;

/** An error raised while turning a synthesized mesh into Pulumi resources. */
export class WeftStackError extends WeftError {
  constructor(code: (typeof STACK_ERRORS)[keyof typeof STACK_ERRORS], message: string) {
    super(code, message);
    this.name = 'WeftStackError';
  }
}
