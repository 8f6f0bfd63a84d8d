/**
 * How `npm start`, `npm run gateway` and `npm run worker:<stage>` stop when they cannot start: one
 * line on stderr naming the cause and the fix, exit code 1 (docs/DESIGN.md §12). An unknown error is a
 * bug, so it keeps its stack.
 */
import { startupFailureLine } from './core/startup-failure';

export function exitOnStartupFailure(err: unknown, portVariable = 'PORT'): never {
  const line = startupFailureLine(err, { portVariable });
  if (line) console.error(line);
  else console.error('Could not start:', err);
  process.exit(1);
}
