/**
 * Renders what the mocks recorded the way `pulumi preview` lays out a plan: a tree of type and
 * name per resource, what each waits for, the stack outputs and a count. Secret outputs stay masked.
 */
import { Registration } from './mocks';

/** A stack output as the report shows it. */
export interface ReportedOutput {
  readonly value: unknown;
  readonly secret: boolean;
}

/** Options of {@link formatPlan}. */
export interface FormatPlanOptions {
  /** `project/stack` shown in the heading. */
  readonly stack: string;
  /**
   * List each resource's dependencies by name under it (otherwise only their count).
   * @default false
   */
  readonly showDependencies?: boolean;
}

/** The plan as text, one resource per line in registration (creation) order. */
export function formatPlan(registrations: readonly Registration[], outputs: Readonly<Record<string, ReportedOutput>>, options: FormatPlanOptions): string {
  const byUrn = new Map(registrations.map((r) => [r.urn, r]));
  const depth = (r: Registration): number => (r.parent && byUrn.has(r.parent) ? depth(byUrn.get(r.parent)!) + 1 : 0);
  const lastChild = new Set<string>();
  const seenParents = new Set<string>();
  for (let i = registrations.length - 1; i >= 0; i--) {
    const p = registrations[i].parent;
    if (!seenParents.has(p)) { seenParents.add(p); lastChild.add(registrations[i].urn); }
  }
  const rows = registrations.map((r) => {
    const d = depth(r);
    const branch = d === 0 ? '' : `${'│  '.repeat(d - 1)}${lastChild.has(r.urn) ? '└─ ' : '├─ '}`;
    return { type: branch + r.type, r };
  });
  const typeWidth = Math.max(4, ...rows.map((x) => x.type.length));
  const nameWidth = Math.max(4, ...rows.map((x) => x.r.name.length));
  const lines = [
    `Previewing update (${options.stack}) offline: Pulumi mocks, no engine, provider or cluster`,
    '',
    `     ${'Type'.padEnd(typeWidth)}  ${'Name'.padEnd(nameWidth)}  Waits for`,
  ];
  for (const { type, r } of rows) {
    const waits = r.dependencies.length ? `${r.dependencies.length}` : '';
    lines.push(` +   ${type.padEnd(typeWidth)}  ${r.name.padEnd(nameWidth)}  ${waits}`.trimEnd());
    if (options.showDependencies) {
      for (const dep of r.dependencies) {
        const d = byUrn.get(dep);
        lines.push(`       ${''.padEnd(typeWidth)}    after ${d ? `${d.type} ${d.name}` : dep}`);
      }
    }
  }
  const keys = Object.keys(outputs);
  if (keys.length) {
    lines.push('', 'Outputs:');
    const w = Math.max(...keys.map((k) => k.length));
    for (const k of keys) {
      const o = outputs[k];
      lines.push(`    ${k.padEnd(w)}: ${o.secret ? '[secret]' : o.value === undefined ? 'output<undefined>' : JSON.stringify(o.value)}`);
    }
  }
  lines.push('', 'Resources:', `    + ${registrations.length} to create`);
  return `${lines.join('\n')}\n`;
}
