/** What every benchmark script needs: its command-line options, percentiles, the machine's name, a main that exits. */
import { cpus } from 'node:os';

/** `--name value` from the command line, or `fallback`. */
export function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
}

/** Nearest-rank percentile; null for no samples. */
export function percentile(xs: number[], p: number): number | null {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]! : null;
}

/** For the results: cores, CPU model and Node version. */
export function machine(): string {
  return `${cpus().length}× ${cpus()[0]?.model.trim()}, Node ${process.version}`;
}

/** Runs `main` when the file is the entry point, and exits (with 1 on an error) when it is done. */
export function runMain(meta: ImportMeta, main: () => Promise<void>): void {
  if (meta.url !== `file://${process.argv[1]}`) return;
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
