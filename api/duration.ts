/** Durations as users write them (`500ms`, `2s`, `1m30s`, `24h`), parsed once into milliseconds. */
import { InvalidValueError } from './errors';

/** The accepted duration syntax: one or more `<number><unit>` groups, unit ms|s|m|h. */
export const DURATION_PATTERN = /^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$/;

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Milliseconds in `text`; throws `WEFT_ERR_INVALID_DURATION` naming `path` when malformed. */
export function parseDuration(text: string, path = 'duration'): number {
  if (typeof text !== 'string' || !DURATION_PATTERN.test(text)) {
    throw new InvalidValueError(path, `${JSON.stringify(text)} is not a duration; write e.g. "500ms", "2s", "1m30s"`, 'WEFT_ERR_INVALID_DURATION');
  }
  let total = 0;
  for (const m of text.matchAll(/([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)/g)) total += Number(m[1]) * UNIT_MS[m[2]];
  return Math.round(total);
}

/** Formats milliseconds the short way (`1500` → `1500ms`, `2000` → `2s`). */
export function formatDuration(ms: number): string {
  if (ms % 3_600_000 === 0 && ms > 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0 && ms > 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0 && ms > 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}
