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
