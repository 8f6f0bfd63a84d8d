/**
 * Why a process could not start, as the one line an operator reads (docs/DESIGN.md §12): the cause and
 * the fix, never a stack trace. Known causes only; anything else is a bug and keeps its stack.
 */

export interface StartupFailureContext {
  /** The variable that chose the port that failed to listen (`PORT`, or `METRICS_PORT` for a worker). */
  portVariable: string;
}

type SystemError = Error & { code?: string; address?: string; port?: number };

/** The one line for a known start-up failure, or null when the error is not one (print its stack). */
export function startupFailureLine(err: unknown, ctx: StartupFailureContext): string | null {
  if (!(err instanceof Error)) return null;
  // Both already read as one line naming the variable (or service) and the fix.
  if (err.name === 'ConfigError' || err.name === 'RedisUnreachableError') return err.message;
  const e = err as SystemError;
  const where = e.address !== undefined && e.port !== undefined ? `${e.address}:${e.port}` : 'the address';
  switch (e.code) {
    case 'EADDRINUSE':
      return `Cannot listen on ${where}: the port is already in use (is another voice-agent running?). Stop that process or set ${ctx.portVariable} to a free port.`;
    case 'EACCES':
      return `Cannot listen on ${where}: permission denied. Set ${ctx.portVariable} to a port above 1023.`;
    case 'EADDRNOTAVAIL':
      return `Cannot listen on ${where}: ${e.address ?? 'HOST'} is not an address of this machine. Set HOST to one of its addresses (127.0.0.1, or 0.0.0.0 for all).`;
    default:
      return null;
  }
}
