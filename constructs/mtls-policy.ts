/**
 * `MtlsPolicy`: peer authentication (STRICT / PERMISSIVE / DISABLE) at mesh, namespace, service or
 * port scope, plus authorization rules by source identity and L7 operation. Semantics follow Istio:
 * a matching DENY wins; once an ALLOW rule exists for a workload, what no ALLOW matches is denied.
 */
import { Construct } from 'constructs';
import { isDnsLabel, parseSpiffeId } from '../api/names';
import { MtlsPolicySpec, PolicyRule, WeftResource } from '../api/resources';
import { checkName, checkPort } from './checks';
import { asResource, customResource, IWeftResourceEmitter, registerEmitter } from './custom-resource';
import { WeftValidationError } from './errors';
import { Mesh, validateUnlessMeshDoes } from './mesh';
import type { IMeshServiceRef } from './mesh-service';
import { MtlsMode, RuleAction } from './values';

/** Who a rule is about; every given field must match (AND), any list entry may (OR). */
export interface PolicySource {
  /** @default - any service */
  readonly services?: readonly IMeshServiceRef[];
  /** `<namespace>/<name>` or `<name>` (the policy's namespace). @default - any service account */
  readonly serviceAccounts?: readonly string[];
  /** @default - any namespace */
  readonly namespaces?: readonly string[];
  /** SPIFFE IDs; `*` wildcards allowed. @default - any principal */
  readonly principals?: readonly string[];
}

/** What a rule is about (L7 conditions need an HTTP port). */
export interface PolicyOperation {
  /** Exact paths, or with a leading/trailing `*`. @default - any path */
  readonly paths?: readonly string[];
  /** Upper-case HTTP methods. @default - any method */
  readonly methods?: readonly string[];
  /** Destination ports. @default - any port */
  readonly ports?: readonly number[];
}

/** One authorization rule. */
export interface PolicyRuleOptions {
  /** @default - `<action>-<n>` */
  readonly name?: string;
  /** Any one source matches. @default - any source */
  readonly from?: PolicySource | readonly PolicySource[];
  /** Any one operation matches. @default - any operation */
  readonly to?: PolicyOperation | readonly PolicyOperation[];
}

/** Props of an {@link MtlsPolicy}. Scope: mesh (default), `namespace`, `service`, or `service` + `port`. */
export interface MtlsPolicyProps {
  /** The mesh. */
  readonly mesh: Mesh;
  /** @default - the construct id */
  readonly name?: string;
  /** Peer-authentication mode at this scope. @default - inherited from the wider scope */
  readonly mode?: MtlsMode;
  /** Scope to one namespace. @default - mesh-wide, unless `service` is set */
  readonly namespace?: string;
  /** Scope to one service. @default - no service scope */
  readonly service?: IMeshServiceRef;
  /** Scope to one port of `service` (its port or targetPort). @default - every port */
  readonly port?: number;
}

/** mTLS mode and authorization rules at one scope. */
export class MtlsPolicy extends Construct implements IWeftResourceEmitter {
  public readonly policyName: string;
  /** Namespace the resource lives in (the control plane's for mesh scope). */
  public readonly namespace: string;
  public readonly mode?: MtlsMode;
  /** The mesh. */
  public readonly mesh: Mesh;
  private readonly scope: MtlsPolicySpec['scope'];
  private readonly _rules: PolicyRule[] = [];

  constructor(scope: Construct, id: string, props: MtlsPolicyProps) {
    super(scope, id);
    if (!Mesh.isMesh(props.mesh)) throw new WeftValidationError('WEFT_ERR_MISSING_PROP', 'mesh must be a Mesh', this, { prop: 'mesh' });
    this.mesh = props.mesh;
    this.policyName = checkName(this, 'name', props.name ?? id);
    if (props.mode !== undefined && !Object.values(MtlsMode).includes(props.mode)) {
      throw new WeftValidationError('WEFT_ERR_INVALID_PROP', 'mode must be STRICT, PERMISSIVE or DISABLE', this, { prop: 'mode', value: props.mode });
    }
    this.mode = props.mode;
    if (props.port !== undefined && !props.service) {
      throw new WeftValidationError('WEFT_ERR_INVALID_SCOPE', 'a port scope needs a service', this, { prop: 'port', value: props.port, fix: 'add service, or drop port' });
    }
    if (props.service && props.namespace && props.service.namespace !== props.namespace) {
      throw new WeftValidationError('WEFT_ERR_INVALID_SCOPE', `service ${props.service.serviceName} is in namespace ${props.service.namespace}, not ${props.namespace}`, this, { prop: 'namespace', value: props.namespace, fix: 'drop namespace; a service scope implies it' });
    }
    if (props.namespace !== undefined) checkName(this, 'namespace', props.namespace);
    if (props.port !== undefined) checkPort(this, 'port', props.port);
    if (props.service) {
      this.namespace = props.service.namespace;
      this.scope = { namespace: props.service.namespace, service: props.service.serviceName, ...(props.port !== undefined ? { port: props.port } : {}) };
    } else if (props.namespace) {
      this.namespace = props.namespace;
      this.scope = { namespace: props.namespace };
    } else {
      // Mesh scope: like Istio's root namespace, a policy in the control-plane namespace without a scope.
      this.namespace = props.mesh.namespace;
      if (props.mode !== undefined) props.mesh._setMeshWideMode(this, props.mode);
    }
    customResource(this, { kind: 'MtlsPolicy', name: this.policyName, namespace: this.namespace, spec: () => this.renderSpec() })
      .node.addDependency(props.mesh.crds);
    registerEmitter(this, 'MtlsPolicy');
    this.node.addValidation({ validate: () => { validateUnlessMeshDoes(this, this.mesh); return []; } });
  }

  /** Allows matching requests; once any ALLOW exists, requests no ALLOW matches are denied. */
  public allow(rule: PolicyRuleOptions = {}): this { return this.add(RuleAction.ALLOW, rule); }
  /** Denies matching requests; a matching DENY wins over any ALLOW. */
  public deny(rule: PolicyRuleOptions = {}): this { return this.add(RuleAction.DENY, rule); }
  /** Logs matching requests without changing the decision. */
  public audit(rule: PolicyRuleOptions = {}): this { return this.add(RuleAction.AUDIT, rule); }

  /** Rules so far (copies). */
  public get rules(): PolicyRule[] { return this._rules.map((r) => ({ ...r })); }

  /** @internal */
  public _validateLocal(): void {
    if (this.mode === undefined && !this._rules.length) {
      throw new WeftValidationError('WEFT_ERR_MISSING_PROP', 'the policy has neither a mode nor rules, so it does nothing', this, { prop: 'mode', fix: 'set mode, or call allow()/deny()/audit()' });
    }
  }

  /** @internal */
  public _weftResource(): WeftResource<MtlsPolicySpec> {
    return asResource({ kind: 'MtlsPolicy', name: this.policyName, namespace: this.namespace }, this.renderSpec());
  }

  private add(action: RuleAction, r: PolicyRuleOptions): this {
    const n = this._rules.length;
    const name = r.name ?? `${action.toLowerCase()}-${n}`;
    checkName(this, 'rule name', name);
    if (this._rules.some((x) => x.name === name)) throw new WeftValidationError('WEFT_ERR_DUPLICATE_NAME', `rule ${JSON.stringify(name)} already exists`, this, { prop: 'name', value: name });
    const list = <T>(x: T | readonly T[] | undefined): readonly T[] => (x === undefined ? [] : Array.isArray(x) ? (x as readonly T[]) : [x as T]);
    const from = list(r.from).map((s, i) => this.source(`rules.${name}.from[${i}]`, s));
    const to = list(r.to).map((o, i) => this.operation(`rules.${name}.to[${i}]`, o));
    this._rules.push({ name, action, ...(from.length ? { from } : {}), ...(to.length ? { to } : {}) });
    return this;
  }

  private source(prop: string, s: PolicySource) {
    const bad = (field: string, value: unknown, msg: string, fix?: string): never => {
      throw new WeftValidationError('WEFT_ERR_INVALID_PROP', msg, this, { prop: `${prop}.${field}`, value, ...(fix ? { fix } : {}) });
    };
    for (const p of s.principals ?? []) if (!p.includes('*') && !parseSpiffeId(p)) bad('principals', p, 'a principal is a SPIFFE ID', 'write spiffe://<trust-domain>/ns/<namespace>/sa/<service-account>');
    for (const sa of s.serviceAccounts ?? []) if (!sa.includes('*') && !sa.split('/').every(isDnsLabel)) bad('serviceAccounts', sa, 'a service account is <namespace>/<name> or <name>');
    for (const ns of s.namespaces ?? []) if (!isDnsLabel(ns)) bad('namespaces', ns, 'a namespace is a DNS-1123 label');
    for (const svc of s.services ?? []) if (!svc || typeof svc.serviceName !== 'string') bad('services', svc, 'services takes MeshServices');
    const out = {
      ...(s.principals?.length ? { principals: [...s.principals] } : {}),
      ...(s.namespaces?.length ? { namespaces: [...s.namespaces] } : {}),
      ...(s.services?.length ? { services: s.services.map((x) => ({ name: x.serviceName, namespace: x.namespace })) } : {}),
      ...(s.serviceAccounts?.length ? { serviceAccounts: [...s.serviceAccounts] } : {}),
    };
    return out;
  }

  private operation(prop: string, o: PolicyOperation) {
    for (const m of o.methods ?? []) {
      if (!/^[A-Z]+$/.test(m)) throw new WeftValidationError('WEFT_ERR_INVALID_PROP', 'methods are upper-case HTTP methods', this, { prop: `${prop}.methods`, value: m });
    }
    for (const p of o.paths ?? []) {
      if (!(p.startsWith('/') || p.startsWith('*'))) throw new WeftValidationError('WEFT_ERR_INVALID_PROP', 'a path starts with "/" (or "*" for a suffix match)', this, { prop: `${prop}.paths`, value: p });
    }
    (o.ports ?? []).forEach((p) => checkPort(this, `${prop}.ports`, p));
    return {
      ...(o.paths?.length ? { paths: [...o.paths] } : {}),
      ...(o.methods?.length ? { methods: [...o.methods] } : {}),
      ...(o.ports?.length ? { ports: [...o.ports] } : {}),
    };
  }

  private renderSpec(): MtlsPolicySpec {
    return {
      ...(this.scope ? { scope: { ...this.scope } } : {}),
      ...(this.mode ? { mode: this.mode } : {}),
      ...(this._rules.length ? { rules: this.rules } : {}),
    };
  }
}
