/** The CLI's argv: positionals, `--flag`, `--name value` and `--name=value` (node:util's parseArgs). */
import { parseArgs as parse } from 'node:util';

export interface Parsed {
  positionals: string[];
  options: Record<string, string | true>;
}

/** `valued` options take a value; any other `--name` is a flag (checked by the command that reads it). */
export function parseArgs(argv: readonly string[], valued: readonly string[]): Parsed {
  const { values, positionals } = parse({
    args: [...argv],
    strict: false,
    allowPositionals: true,
    options: { help: { type: 'boolean', short: 'h' }, ...Object.fromEntries(valued.map((n) => [n, { type: 'string' as const }])) },
  });
  const options: Record<string, string | true> = {};
  for (const [name, v] of Object.entries(values)) {
    if (v === undefined || v === false) continue;
    if (valued.includes(name) && typeof v !== 'string') throw new UsageError(`--${name} needs a value`);
    options[name] = typeof v === 'string' ? v : true;
  }
  return { positionals, options };
}

export class UsageError extends Error {}

export function str(o: Parsed['options'], name: string): string | undefined {
  const v = o[name];
  return typeof v === 'string' ? v : undefined;
}
