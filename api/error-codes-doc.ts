/**
 * Renders docs/errors.md from the registry (api/error-codes.ts), so the page cannot drift:
 * `npm run docs:errors` writes it, test/api/error-codes.test.ts checks it is current.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ERROR_CODES, WEFT_ERROR_REASONS, type ErrorCodeInfo, type ErrorPart } from './error-codes';

const PART_ORDER: readonly ErrorPart[] = ['api', 'constructs', 'control-plane', 'proxy', 'cli', 'stacks', 'image'];
const PART_TITLE: Record<ErrorPart, string> = {
  api: 'api (schemas, model, translate, xDS codec, export)',
  constructs: 'constructs and mesh rules (synth time, `weft check`)',
  'control-plane': 'control plane (sources, ADS, CA)',
  proxy: 'proxy (request path, identity, TLS, xDS client)',
  cli: 'cli (`weft` commands)',
  stacks: 'stacks (Pulumi)',
  image: 'image (image/build.sh)',
};

/** Escapes a table cell. */
function cell(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

/** The whole docs/errors.md text. */
export function renderErrorsDoc(): string {
  const entries = Object.entries(ERROR_CODES) as [string, ErrorCodeInfo][];
  const out: string[] = [
    '# Error codes',
    '',
    '<!-- GENERATED from api/error-codes.ts by `npm run docs:errors`; do not edit by hand. -->',
    '',
    'Every weft error carries a stable `code` (`WEFT_ERR_…`, in the style of undici\'s `UND_ERR_…`);',
    'tests and scripts switch on the code, never on the message. This page lists every code by the',
    'part that raises it. To add a code, append one line to `ERROR_CODES` in `api/error-codes.ts`',
    'and run `npm run docs:errors`; `test/api/error-codes.test.ts` fails on a code that is used but',
    'not registered, on a registered code nothing uses, and on a stale copy of this page.',
    '',
    `${entries.length} codes, ${Object.keys(WEFT_ERROR_REASONS).length} \`weft-error\` reasons.`,
    '',
  ];
  for (const part of PART_ORDER) {
    const rows = entries.filter(([, e]) => e.part === part).sort(([a], [b]) => a.localeCompare(b));
    if (!rows.length) continue;
    out.push(`## ${PART_TITLE[part]}`, '', '| code | meaning | fix |', '| --- | --- | --- |');
    for (const [code, e] of rows) out.push(`| \`${code}\`${e.warning ? ' (warning)' : ''} | ${cell(e.meaning)} | ${cell(e.fix)} |`);
    out.push('');
  }
  out.push(
    '## `weft-error` reasons',
    '',
    'A response the proxy made itself (not the app) carries a `weft-error` header: a reason token,',
    'then `key=value` facts (`route=`, `cluster=`, `policy=`). gRPC requests get the same header on a',
    'trailers-only response with the matching `grpc-status`.',
    '',
    '| reason | HTTP status | code | meaning |',
    '| --- | --- | --- | --- |',
  );
  for (const [reason, r] of Object.entries(WEFT_ERROR_REASONS)) {
    const code = 'code' in r ? `\`${r.code}\`` : '–';
    out.push(`| \`${reason}\` | ${r.status} | ${code} | ${cell(r.meaning)} |`);
  }
  out.push('');
  return out.join('\n');
}

/* istanbul ignore next -- the `npm run docs:errors` entry */
if (require.main === module) {
  const file = join(__dirname, '..', 'docs', 'errors.md');
  writeFileSync(file, renderErrorsDoc());
  process.stdout.write(`wrote ${file}\n`);
}
