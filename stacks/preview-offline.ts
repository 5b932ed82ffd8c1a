/**
 * `npm run preview:offline`: the stand-in for `pulumi preview` on machines with no Pulumi CLI,
 * engine or cluster. It runs the real program under Pulumi's mocks with the stack's config
 * (Pulumi.<stack>.yaml plus --config overrides) and prints every resource it would create.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as pulumi from '@pulumi/pulumi';
import { parse as parseYaml } from 'yaml';
import { STACK_ERRORS, WeftStackError } from './errors';
import { installMocks, Registration } from './mocks';
import { formatPlan, ReportedOutput } from './report';

/** Options of {@link previewOffline}. */
export interface OfflinePreviewOptions {
  /** Directory holding Pulumi.yaml (and the stack files). @default - this module's directory */
  readonly dir?: string;
  /** @default 'dev' */
  readonly stack?: string;
  /** `key=value` overrides (`weft:namespace=shop` or `namespace=shop`), applied over the stack file. @default [] */
  readonly config?: readonly string[];
  /** Module of the program, relative to `dir`. @default './index' */
  readonly program?: string;
  /** @default false */
  readonly showDependencies?: boolean;
}

/** What an offline preview produced. */
export interface OfflinePreview {
  readonly text: string;
  readonly registrations: readonly Registration[];
  readonly outputs: Readonly<Record<string, ReportedOutput>>;
}

/** Stack config as the engine hands it to a program: namespaced keys, structured values as JSON. */
export function readStackConfig(dir: string, project: string, stack: string, overrides: readonly string[]): Record<string, string> {
  const qualify = (key: string) => (key.includes(':') ? key : `${project}:${key}`);
  const out: Record<string, string> = {};
  const file = path.join(dir, `Pulumi.${stack}.yaml`);
  if (fs.existsSync(file)) {
    const doc = (parseYaml(fs.readFileSync(file, 'utf8')) ?? {}) as { config?: Record<string, unknown> };
    for (const [key, value] of Object.entries(doc.config ?? {})) {
      if (value && typeof value === 'object' && 'secure' in value) {
        throw new WeftStackError(STACK_ERRORS.INVALID_CONFIG, `${key} is a secure value; it cannot be decrypted offline, pass it with --config ${key}=...`);
      }
      out[qualify(key)] = typeof value === 'string' ? value : JSON.stringify(value);
    }
  }
  for (const kv of overrides) {
    const eq = kv.indexOf('=');
    if (eq <= 0) throw new WeftStackError(STACK_ERRORS.INVALID_CONFIG, `--config ${JSON.stringify(kv)}: expected key=value`);
    out[qualify(kv.slice(0, eq))] = kv.slice(eq + 1);
  }
  return out;
}

/** Runs the program under mocks and renders the plan. Errors (coded) propagate to the caller. */
export async function previewOffline(options: OfflinePreviewOptions = {}): Promise<OfflinePreview> {
  const dir = options.dir ?? __dirname;
  const stack = options.stack ?? 'dev';
  const project = String((parseYaml(fs.readFileSync(path.join(dir, 'Pulumi.yaml'), 'utf8')) as { name: string }).name);
  const mocks = await installMocks({ project, stack, preview: true, config: readStackConfig(dir, project, stack, options.config ?? []) });
  // The program is imported only now, after the mocks are in place.
  const exported = (await import(path.resolve(dir, options.program ?? './index'))) as Record<string, unknown>;
  const outputs: Record<string, ReportedOutput> = {};
  for (const [key, value] of Object.entries(exported)) {
    if (key === 'default' || key === '__esModule') continue;
    const out = pulumi.output(value as pulumi.Input<unknown>) as pulumi.Output<unknown>;
    const secret = await (out as unknown as { isSecret: Promise<boolean> }).isSecret;
    outputs[key] = { value: await new Promise((resolve) => out.apply(resolve)), secret };
  }
  await mocks.settle();
  const text = formatPlan(mocks.registrations, outputs, { stack: `${project}/${stack}`, showDependencies: options.showDependencies });
  return { text, registrations: mocks.registrations, outputs };
}

function parseArgs(argv: readonly string[]): OfflinePreviewOptions {
  const config: string[] = [];
  let stack: string | undefined;
  let showDependencies = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--stack' || a === '-s') stack = argv[++i];
    else if (a === '--config' || a === '-c') config.push(argv[++i] ?? '');
    else if (a === '--show-dependencies') showDependencies = true;
    else throw new WeftStackError(STACK_ERRORS.INVALID_CONFIG, `unknown argument ${a} (use --stack <name>, --config key=value, --show-dependencies)`);
  }
  return { stack, config, showDependencies };
}

if (require.main === module) {
  Promise.resolve()
    .then(() => previewOffline(parseArgs(process.argv.slice(2))))
    .then((p) => process.stdout.write(p.text))
    .catch((e: unknown) => {
      const err = e as { code?: string; message?: string };
      process.stderr.write(`error: ${err.code ? `${err.code}: ` : ''}${err.message ?? String(e)}\n`);
      process.exitCode = 1;
    });
}
