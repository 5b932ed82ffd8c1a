/**
 * Pulumi's documented mocks (`pulumi.runtime.setMocks`) plus a recorder of what each registration
 * asked the engine for (parent, dependsOn, inputs): the offline preview prints it, tests assert it.
 * Mocks return a resource's inputs as its state, the way Pulumi's unit-testing guide does.
 */
import * as pulumi from '@pulumi/pulumi';

/** One resource registration as the engine would have received it. */
export interface Registration {
  readonly type: string;
  readonly name: string;
  readonly urn: string;
  /** URN of the parent ('' for none). */
  readonly parent: string;
  /** URNs this resource waits for (`dependsOn` plus input dependencies). */
  readonly dependencies: readonly string[];
  readonly custom: boolean;
  /** The inputs after serialization (secrets appear as Pulumi's secret envelope). */
  readonly inputs: Record<string, unknown>;
}

/** What {@link installMocks} returns. */
export interface MockRecorder {
  /** Registrations in the order the engine saw them (a valid creation order). */
  readonly registrations: readonly Registration[];
  /** Every `newResource` call of the mocks, in order (type and name). */
  readonly newResourceCalls: readonly { readonly type: string; readonly name: string }[];
  /** Resolves once every outstanding registration has been answered. */
  settle(): Promise<void>;
}

/** Options of {@link installMocks}. */
export interface InstallMocksOptions {
  /** @default 'weft' */
  readonly project?: string;
  /** @default 'dev' */
  readonly stack?: string;
  /** Stack config, `project:key` → string value (structured values JSON-encoded, as the CLI does). @default {} */
  readonly config?: Readonly<Record<string, string>>;
  /** Whether the run is a preview (unknown outputs stay unknown). @default true */
  readonly preview?: boolean;
}

type Callback = (err: unknown, response: { getUrn(): string } | undefined) => void;
interface RegisterRequest {
  getType(): string; getName(): string; getParent(): string; getCustom(): boolean;
  getDependenciesList(): string[]; getObject(): { toJavaScript(): Record<string, unknown> } | undefined;
}

/**
 * Installs Pulumi's mocks with a recorder. Import the program (or create components) only after
 * this resolves: resources created earlier would talk to an engine that is not there.
 */
export async function installMocks(options: InstallMocksOptions = {}): Promise<MockRecorder> {
  const registrations: Registration[] = [];
  const newResourceCalls: { type: string; name: string }[] = [];
  await pulumi.runtime.setMocks(
    {
      newResource: (args) => {
        newResourceCalls.push({ type: args.type, name: args.name });
        return { id: `${args.name}-id`, state: args.inputs };
      },
      call: (args) => args.inputs,
    },
    options.project ?? 'weft',
    options.stack ?? 'dev',
    options.preview ?? true,
  );
  pulumi.runtime.setAllConfig({ ...(options.config ?? {}) });

  // The mock monitor gives newResource no parent or dependencies; read them off the request.
  const monitor = pulumi.runtime.getMonitor() as unknown as { registerResource(req: RegisterRequest, cb: Callback): Promise<void> };
  const register = monitor.registerResource.bind(monitor);
  monitor.registerResource = (req, cb) => register(req, (err, res) => {
    if (!err && res) {
      registrations.push({
        type: req.getType(), name: req.getName(), urn: res.getUrn(), parent: req.getParent(),
        dependencies: req.getDependenciesList(), custom: req.getCustom(), inputs: req.getObject()?.toJavaScript() ?? {},
      });
    }
    cb(err, res);
  });

  // waitForRPCs is the SDK's own "drain the RPC queue" (what disconnect() awaits); it is @internal in the typings.
  const waitForRPCs = (pulumi.runtime as unknown as { waitForRPCs(): Promise<void> }).waitForRPCs;
  return { registrations, newResourceCalls, settle: () => waitForRPCs() };
}
