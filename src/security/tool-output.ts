/**
 * What a client sees of a server-side tool's result (`response.function_call.done` `output`):
 * the output only when the business sets `expose_tool_output: true`. The model always gets the
 * real output; a client (a browser, anyone holding the call's client secret) by default sees that
 * the tool ran, its name and arguments, not the records it returned.
 */
import type { Business } from '../contracts/business';

export const HIDDEN_TOOL_OUTPUT = JSON.stringify({ hidden: 'The tool output is not shared with clients (business expose_tool_output is false).' });

export function clientToolOutput(business: Pick<Business, 'expose_tool_output'>, output: string): string {
  return business.expose_tool_output ? output : HIDDEN_TOOL_OUTPUT;
}

/**
 * A stage-log entry as a call's client secret may read it (GET /v1/calls/:id/logs): tool results
 * hidden unless the business exposes them, like the event above. Keys of the business see all.
 */
export function clientLogEntry<T>(business: Pick<Business, 'expose_tool_output'> | null, entry: T): T {
  const e = entry as { stage?: unknown; data?: Record<string, unknown> };
  if (business?.expose_tool_output || e.stage !== 'tool' || e.data?.output === undefined) return entry;
  return { ...e, data: { ...e.data, output: HIDDEN_TOOL_OUTPUT } } as T;
}
