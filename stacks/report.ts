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

/**
 * The plan as text. Resources are shown in creation waves, the way the engine runs them: wave 0
 * needs nothing, wave n waits for something in wave n-1; within a wave, by type and name (the
 * engine creates one wave in parallel, so registration order there carries no meaning).
 */
export function formatPlan(registrations: readonly Registration[], outputs: Readonly<Record<string, ReportedOutput>>, options: FormatPlanOptions): string {
  const byUrn = new Map(registrations.map((r) => [r.urn, r]));
  const waves = new Map<string, number>();
  const wave = (r: Registration): number => {
    let w = waves.get(r.urn);
    if (w === undefined) {
      waves.set(r.urn, 0); // provisional, guards against a (malformed) cycle
      w = Math.max(-1, ...r.dependencies.filter((d) => byUrn.has(d)).map((d) => wave(byUrn.get(d)!))) + 1;
      waves.set(r.urn, w);
    }
    return w;
  };
  const sorted = [...registrations].sort((a, b) => wave(a) - wave(b) || a.type.localeCompare(b.type) || a.name.localeCompare(b.name));
  const children = new Map<string, Registration[]>();
  for (const r of sorted) children.set(r.parent, [...(children.get(r.parent) ?? []), r]);
  const rows: { type: string; r: Registration }[] = [];
  const walk = (parent: string, prefix: string, root: boolean) => {
    const kids = children.get(parent) ?? [];
    kids.forEach((r, i) => {
      const last = i === kids.length - 1;
      rows.push({ type: root ? r.type : `${prefix}${last ? '└─ ' : '├─ '}${r.type}`, r });
      walk(r.urn, root ? '' : `${prefix}${last ? '   ' : '│  '}`, false);
    });
  };
  walk('', '', true);
  for (const r of sorted) if (r.parent && !byUrn.has(r.parent)) rows.push({ type: r.type, r }); // orphans: parent not recorded

  const typeWidth = Math.max(4, ...rows.map((x) => x.type.length));
  const nameWidth = Math.max(4, ...rows.map((x) => x.r.name.length));
  const lines = [
    `Previewing update (${options.stack}) offline: Pulumi mocks, no engine, provider or cluster`,
    '',
    `     ${'Type'.padEnd(typeWidth)}  ${'Name'.padEnd(nameWidth)}  Wave  Waits for`,
  ];
  for (const { type, r } of rows) {
    const waits = r.dependencies.length ? String(r.dependencies.length) : '';
    lines.push(` +   ${type.padEnd(typeWidth)}  ${r.name.padEnd(nameWidth)}  ${String(wave(r)).padStart(4)}  ${waits}`.trimEnd());
    if (options.showDependencies) {
      for (const dep of r.dependencies) {
        const d = byUrn.get(dep);
        lines.push(`     ${''.padEnd(typeWidth)}    after ${d ? `${d.type} ${d.name}` : dep}`);
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
