/**
 * Stack config, read once at the program's boundary: `pulumi config set weft:<key> <value>`. Only
 * shapes are checked here (a number is a number); ranges and names are the constructs' to judge,
 * so a bad value fails with the same coded error `cdk8s synth` would give.
 */
import * as pulumi from '@pulumi/pulumi';
import type { BookinfoProps } from '../examples/bookinfo/mesh';
import { STACK_ERRORS, WeftStackError } from './errors';

/** The workloads of the bundled example whose replicas config may set. */
export const BOOKINFO_WORKLOADS = ['productpage', 'details', 'reviews-v1', 'reviews-v2', 'ratings'] as const;

/** Everything the stack config can set (all optional: the example's defaults apply). */
export interface WeftStackConfig {
  /** `weft:namespace`: namespace of the mesh's services. @default 'bookinfo' */
  readonly namespace?: string;
  /** `weft:createNamespace`: whether the stack creates that Namespace. @default true */
  readonly createNamespace?: boolean;
  /** `weft:imageRepository`: repository of the weft image (proxy and control plane). @default 'ghcr.io/weft-mesh/weft' */
  readonly imageRepository?: string;
  /** `weft:imageTag`: tag of the weft image. @default '0.1.0' */
  readonly imageTag?: string;
  /** `weft:appImageRepository`: repository prefix of the example's app images. @default 'registry.example/bookinfo' */
  readonly appImageRepository?: string;
  /** `weft:appImageTag`: tag of the app images. @default '1.0.0' */
  readonly appImageTag?: string;
  /** `weft:trustDomain`: SPIFFE trust domain. @default 'bookinfo.local' */
  readonly trustDomain?: string;
  /** `weft:replicas`: replicas per workload, e.g. `{"reviews-v2": 3}`. @default - 1 each */
  readonly replicas?: Readonly<Partial<Record<(typeof BOOKINFO_WORKLOADS)[number], number>>>;
}

function invalid(key: string, message: string): WeftStackError {
  return new WeftStackError(STACK_ERRORS.INVALID_CONFIG, `config weft:${key} ${message}`);
}

/** Reads and shape-checks the `weft:*` keys. Throws WEFT_ERR_STACK_INVALID_CONFIG on a wrong shape. */
export function readWeftConfig(config: pulumi.Config = new pulumi.Config('weft')): WeftStackConfig {
  const str = (key: string) => config.get(key);
  let createNamespace: boolean | undefined;
  let replicas: unknown;
  try {
    createNamespace = config.getBoolean('createNamespace');
  } catch {
    throw invalid('createNamespace', `must be true or false, got ${JSON.stringify(config.get('createNamespace'))}`);
  }
  try {
    replicas = config.getObject<unknown>('replicas');
  } catch {
    throw invalid('replicas', `must be a JSON object such as {"reviews-v2": 2}, got ${JSON.stringify(config.get('replicas'))}`);
  }
  if (replicas !== undefined) {
    if (typeof replicas !== 'object' || replicas === null || Array.isArray(replicas)) throw invalid('replicas', 'must be an object of workload → count');
    for (const [workload, count] of Object.entries(replicas)) {
      if (!(BOOKINFO_WORKLOADS as readonly string[]).includes(workload)) throw invalid('replicas', `names unknown workload ${JSON.stringify(workload)}; use ${BOOKINFO_WORKLOADS.join(', ')}`);
      if (typeof count !== 'number') throw invalid('replicas', `.${workload} must be a number, got ${JSON.stringify(count)}`);
    }
  }
  const out: WeftStackConfig = {
    namespace: str('namespace'), createNamespace, imageRepository: str('imageRepository'), imageTag: str('imageTag'),
    appImageRepository: str('appImageRepository'), appImageTag: str('appImageTag'), trustDomain: str('trustDomain'),
    replicas: replicas as WeftStackConfig['replicas'],
  };
  // Drop unset keys, so the result reads as "what the stack sets".
  return Object.fromEntries(Object.entries(out).filter(([, v]) => v !== undefined)) as WeftStackConfig;
}

/** The example's props for a stack config (names differ: the app images vs the weft image). */
export function bookinfoProps(c: WeftStackConfig): BookinfoProps {
  return {
    namespace: c.namespace,
    createNamespace: c.createNamespace,
    imageRepository: c.appImageRepository,
    imageTag: c.appImageTag,
    meshImageRepository: c.imageRepository,
    meshImageTag: c.imageTag,
    trustDomain: c.trustDomain,
    replicas: c.replicas,
  };
}
