/** A small argv parser: positionals, `--flag`, `--name value` and `--name=value`. */
export interface Parsed {
  positionals: string[];
  options: Record<string, string | true>;
}

export function parseArgs(argv: readonly string[], valued: readonly string[]): Parsed {
  const positionals: string[] = [];
  const options: Record<string, string | true> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const name = eq > 0 ? a.slice(2, eq) : a.slice(2);
      if (eq > 0) options[name] = a.slice(eq + 1);
      else if (valued.includes(name)) {
        const v = argv[++i];
        if (v === undefined) throw new UsageError(`--${name} needs a value`);
        options[name] = v;
      } else options[name] = true;
    } else if (a === '-h') options.help = true;
    else positionals.push(a);
  }
  return { positionals, options };
}

export class UsageError extends Error {}

export function str(o: Parsed['options'], name: string): string | undefined {
  const v = o[name];
  return typeof v === 'string' ? v : undefined;
}
