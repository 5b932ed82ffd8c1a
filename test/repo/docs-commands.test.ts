/**
 * The docs name commands that exist: every `npm run <script>` is a script in package.json, every
 * `weft <subcommand>` is registered by cli/commands/, and every file a `npx jest`, `npx ts-node`,
 * `node` or `bash` command names is in the repository. Commands are read from code spans and code
 * blocks of docs/*.md, README.md and examples/**\/*.md.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

const ROOT = path.join(__dirname, '..', '..');

function markdownFiles(): string[] {
  const under = (dir: string): string[] => fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((d) =>
    d.isDirectory() ? under(path.posix.join(dir, d.name)) : d.name.endsWith('.md') ? [path.posix.join(dir, d.name)] : []);
  return ['README.md', ...under('docs'), ...under('examples')];
}

/** Each command-looking line of a code block or code span, with the file it is in. */
export function commandsIn(markdown: string): string[] {
  const out: string[] = [];
  const blocks = /```[^\n]*\n([\s\S]*?)```/g;
  for (let m = blocks.exec(markdown); m; m = blocks.exec(markdown)) out.push(...m[1].split('\n').map((l) => l.replace(/^\s*\$\s*/, '').trim()));
  const prose = markdown.replace(blocks, '');
  const spans = /`([^`\n]+)`/g;
  for (let m = spans.exec(prose); m; m = spans.exec(prose)) out.push(m[1].trim());
  // leading VAR=value assignments are part of the command, not its name
  return out.map((c) => c.replace(/^(?:[A-Z_][A-Z0-9_]*=\S*\s+)+/, '')).filter((c) => /^(npm |npx |weft |node |bash )/.test(c));
}

const scripts = new Set(Object.keys((JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts));
const subcommands = new Set(fs.readdirSync(path.join(ROOT, 'cli', 'commands')).filter((f) => f.endsWith('.ts')).flatMap((f) =>
  [...fs.readFileSync(path.join(ROOT, 'cli', 'commands', f), 'utf8').matchAll(/\.command\(\s*'([a-z][a-z-]*)/g)].map((m) => m[1])));
const mainText = fs.readFileSync(path.join(ROOT, 'cli', 'main.ts'), 'utf8');
const programFlags = new Set(['--help', '-h', ...(/\.version\(/.test(mainText) ? ['--version', '-V'] : [])]);

const testFiles = ((dir: string): string[] => {
  const walk = (d: string): string[] => fs.readdirSync(path.join(ROOT, d), { withFileTypes: true }).flatMap((e) => e.isDirectory() ? walk(path.posix.join(d, e.name)) : [path.posix.join(d, e.name)]);
  return walk(dir);
})('test');
const exists = (file: string): boolean => fs.existsSync(path.join(ROOT, file.replace(/[#:].*$/, '')));
/** Arguments that name repository files (a path with a slash or a known extension; globs and placeholders skipped). */
const fileArgs = (args: string[]): string[] => args.filter((a) => !a.startsWith('-') && /\//.test(a) && !/[<>*{}$…]|\.\.\./.test(a) && !a.startsWith('/') && !/^https?:/.test(a));

/** Why a command does not exist, or undefined when it does. */
export function problemOf(command: string): string | undefined {
  const words = command.split(/\s+/);
  const [tool, sub] = words;
  if (tool === 'npm') {
    if (sub === 'run' || sub === 'run-script') return scripts.has(words[2]) ? undefined : `no npm script "${words[2]}" in package.json`;
    if (sub === 'test' || sub === 'start') return scripts.has(sub) ? undefined : `no npm script "${sub}"`;
    return undefined; // npm ci, npm install, npm pack …: npm's own commands
  }
  const weft = tool === 'weft' ? words.slice(1) : tool === 'npx' && sub === 'weft' ? words.slice(2) : undefined;
  if (weft) {
    const first = weft[0];
    if (first === undefined || /^[<[]/.test(first)) return undefined; // `weft <command>` as a placeholder
    if (first.startsWith('-')) return programFlags.has(first) ? undefined : `weft has no program option ${first}`;
    return subcommands.has(first) ? undefined : `weft has no subcommand "${first}" (cli/commands/)`;
  }
  const args = tool === 'npx' ? words.slice(2) : words.slice(1);
  if (tool === 'npx' && !['jest', 'ts-node', 'tsc'].includes(sub)) return undefined;
  // jest reads its arguments as path patterns: `test/api/authz` selects test/api/authz*.test.ts
  const found = (a: string): boolean => exists(a) || (sub === 'jest' && testFiles.some((f) => f.startsWith(a)));
  const missing = fileArgs(args).filter((a) => !found(a));
  return missing.length ? `names files that do not exist: ${missing.join(', ')}` : undefined;
}

test('every command the docs name exists (npm scripts, weft subcommands, files)', () => {
  const commands = markdownFiles().flatMap((f) => commandsIn(fs.readFileSync(path.join(ROOT, f), 'utf8')).map((c) => ({ file: f, command: c })));
  expect(commands.length).toBeGreaterThan(50);
  const broken = commands.map((c) => ({ ...c, problem: problemOf(c.command) })).filter((c) => c.problem);
  expect(broken).toEqual([]);
});

test('the checker catches each kind of stale command', () => {
  expect(commandsIn('Run `BENCH_SECONDS=5 npm run bench:proxy` then\n```\n$ weft up --expose a=1\n```\n')).toEqual(['weft up --expose a=1', 'npm run bench:proxy']);
  expect(problemOf('npm run no-such-script')).toMatch(/no npm script/);
  expect(problemOf('npm run test:unit')).toBeUndefined();
  expect(problemOf('npx weft no-such-command')).toMatch(/no subcommand/);
  expect(problemOf('weft up --expose productpage=9080')).toBeUndefined();
  expect(problemOf('npx jest test/no/such/dir')).toMatch(/do not exist/);
  expect(problemOf('npx jest test/proxy/http')).toBeUndefined();
  expect(problemOf('npx jest test/api/authz')).toBeUndefined();
  expect(problemOf('npx ts-node --transpile-only bench/nope.ts')).toMatch(/do not exist/);
});
