/**
 * `CanaryRoute`: the routes of one service, in evaluation order: the `match` shorthand routes, then
 * `addRoute()` routes in call order, then the `split` catch-all. Emits a `CanaryRoute` resource;
 * `steps` declare progressive delivery for a controller to walk.
 */
import { Construct } from 'constructs';
import { CanaryRouteSpec, RouteRule, WeftResource } from '../api/resources';
import { checkDuration, checkInt, checkName, checkRetries, checkRetryBudget, RetryOptions } from './checks';
import { asResource, customResource, IWeftResourceEmitter, registerEmitter } from './custom-resource';
import { WeftValidationError } from './errors';
import { Mesh, validateUnlessMeshDoes } from './mesh';
import { MeshService } from './mesh-service';
import { checkBackends, renderRoute, RouteMatchOptions, RouteOptions } from './route-options';

/** A match that sends everything it selects to one version (the `match` shorthand). */
export interface CanaryMatch extends RouteMatchOptions {
  /** Version that receives 100% of matching requests. */
  readonly to: string;
}

/** One step of a progressive rollout. */
export interface CanaryStep {
  /** Weight of the canary (the second version of the split) at this step, 0..100. */
  readonly weight: number;
  /** @default - no pause: advance as soon as the gates pass */
  readonly pause?: string;
  /** Minimum success rate (percent) to advance. @default - no success-rate gate */
  readonly minSuccessRate?: number;
  /** Maximum p99 latency to advance. @default - no latency gate */
  readonly maxP99?: string;
}

/** Props of a {@link CanaryRoute}. */
export interface CanaryRouteProps {
  /** The service whose traffic is routed. */
  readonly service: MeshService;
  /**
   * Resource name.
   * @default - the construct id
   */
  readonly name?: string;
  /**
   * Port name the routes apply to.
   * @default - every HTTP port of the service
   */
  readonly port?: string;
  /**
   * Version → weight for every request no earlier route takes (the last route).
   * @default - no catch-all; requests no route matches get the service's default routing
   */
  readonly split?: Record<string, number>;
  /**
   * Requests to pin to one version, checked before the split.
   * @default - none
   */
  readonly match?: readonly CanaryMatch[];
  /**
   * Timeout of the shorthand routes.
   * @default - the service's timeout
   */
  readonly timeout?: string;
  /**
   * Retries of the shorthand routes.
   * @default - the service's retries
   */
  readonly retries?: RetryOptions;
  /**
   * Progressive-delivery steps.
   * @default - none: the split is applied as written
   */
  readonly steps?: readonly CanaryStep[];
}

/** Routes of one service. */
export class CanaryRoute extends Construct implements IWeftResourceEmitter {
  public readonly routeName: string;
  public readonly service: MeshService;
  /** The mesh of the service. */
  public readonly mesh: Mesh;
  public readonly port?: string;
  private readonly versions: ReadonlyMap<string, number>;
  private readonly _matchRoutes: RouteRule[] = [];
  private readonly _routes: RouteRule[] = [];
  private readonly _steps: { weight: number; pause?: string; minSuccessRate?: number; maxP99?: string }[] = [];
  private readonly _split?: RouteRule;
  private readonly timeout?: string;
  private readonly retries?: RetryOptions;

  constructor(scope: Construct, id: string, props: CanaryRouteProps) {
    super(scope, id);
    if (!(props.service instanceof MeshService)) throw new WeftValidationError('WEFT_ERR_UNKNOWN_SERVICE', 'service must be a MeshService', this, { prop: 'service' });
    this.service = props.service;
    this.mesh = props.service.mesh;
    this.routeName = checkName(this, 'name', props.name ?? id);
    if (props.port !== undefined) checkName(this, 'port', props.port);
    this.port = props.port;
    this.versions = new Map(this.service.versions.map((v) => [v.name, v.replicas]));
    checkDuration(this, 'timeout', props.timeout);
    checkRetries(this, 'retries', props.retries);
    this.timeout = props.timeout;
    this.retries = props.retries;

    (props.match ?? []).forEach((m, i) => {
      const { to, ...match } = m;
      this._matchRoutes.push(this.route(`match[${i}]`, { name: `match-${i}`, match: [match], backends: { [to]: 100 }, timeout: this.timeout, retries: this.retries }));
    });
    if (props.split) {
      checkBackends(this, 'split', props.split, this.versions);
      this._split = this.route('split', { name: 'split', backends: props.split, timeout: this.timeout, retries: this.retries });
    }
    (props.steps ?? []).forEach((s) => this.addStep(s));

    customResource(this, { kind: 'CanaryRoute', name: this.routeName, namespace: this.service.namespace, spec: () => this.renderSpec() })
      .node.addDependency(this.service.mesh.crds);
    registerEmitter(this, 'CanaryRoute');
    this.node.addValidation({ validate: () => { validateUnlessMeshDoes(this, this.mesh); return []; } });
  }

  /** Adds a route after the earlier ones and before the `split` catch-all. */
  public addRoute(route: RouteOptions): this {
    const name = route.name ?? `route-${this._routes.length}`;
    checkName(this, 'route name', name);
    if (this.allRoutes().some((r) => r.name === name)) throw new WeftValidationError('WEFT_ERR_DUPLICATE_NAME', `route ${JSON.stringify(name)} already exists`, this, { prop: 'name', value: name });
    this._routes.push(this.route(`routes.${name}`, { ...route, name }));
    return this;
  }

  /** Adds a progressive-delivery step; weights only move forward. */
  public addStep(step: CanaryStep): this {
    const prop = `steps[${this._steps.length}]`;
    if (!Number.isInteger(step.weight) || step.weight < 0 || step.weight > 100) {
      throw new WeftValidationError('WEFT_ERR_INVALID_STEP', 'step weight must be an integer in 0..100', this, { prop: `${prop}.weight`, value: step.weight });
    }
    const last = this._steps[this._steps.length - 1];
    if (last && step.weight < last.weight) {
      throw new WeftValidationError('WEFT_ERR_INVALID_STEP', `step weight ${step.weight} is below the previous ${last.weight}`, this, { prop: `${prop}.weight`, value: step.weight, fix: 'order steps by non-decreasing weight' });
    }
    checkDuration(this, `${prop}.pause`, step.pause);
    checkDuration(this, `${prop}.maxP99`, step.maxP99);
    checkInt(this, `${prop}.minSuccessRate`, step.minSuccessRate, 0, 100);
    this._steps.push({ weight: step.weight, ...(step.pause ? { pause: step.pause } : {}), ...(step.minSuccessRate !== undefined ? { minSuccessRate: step.minSuccessRate } : {}), ...(step.maxP99 ? { maxP99: step.maxP99 } : {}) });
    return this;
  }

  /** Routes in evaluation order (copies). */
  public get routes(): RouteRule[] { return this.allRoutes().map((r) => ({ ...r })); }

  /** @internal */
  public _validateLocal(): void {
    if (!this.allRoutes().length) throw new WeftValidationError('WEFT_ERR_MISSING_PROP', 'a CanaryRoute needs at least one route', this, { prop: 'split', fix: 'pass split, match, or call addRoute()' });
    if (this._steps.length && !this._split) throw new WeftValidationError('WEFT_ERR_INVALID_STEP', 'steps need a split to move weight in', this, { prop: 'steps', fix: 'add split: { stable: 100, canary: 0 }' });
  }

  /** @internal */
  public _weftResource(): WeftResource<CanaryRouteSpec> {
    return asResource({ kind: 'CanaryRoute', name: this.routeName, namespace: this.service.namespace }, this.renderSpec());
  }

  private route(prop: string, r: RouteOptions): RouteRule {
    const rule = renderRoute(this, prop, r, this.versions);
    const svcPolicy = this.service.trafficPolicy;
    checkRetryBudget(this, `${prop}.retries`, r.retries ?? svcPolicy?.retries, r.timeout ?? svcPolicy?.timeout);
    return rule;
  }

  private allRoutes(): RouteRule[] {
    return [...this._matchRoutes, ...this._routes, ...(this._split ? [this._split] : [])];
  }

  private renderSpec(): CanaryRouteSpec {
    return {
      service: { name: this.service.serviceName, namespace: this.service.namespace },
      ...(this.port ? { port: this.port } : {}),
      routes: this.routes,
      ...(this._steps.length ? { steps: this._steps.map((s) => ({ ...s })) } : {}),
    };
  }
}
