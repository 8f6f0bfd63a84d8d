/** Who runs a tool call: the service (builtin, webhook) or the client. Pure. */
import type { Business } from '../contracts/business';
import type { FunctionTool, ToolHandler } from '../contracts/tools';

/** How long the model waits for a client tool the business has no handler entry for (a client-declared tool). */
export const CLIENT_TOOL_TIMEOUT_MS = 30_000;

/**
 * Who runs a tool (docs/DESIGN.md §7). The business's tools run in the service: a `tool_handlers`
 * entry says how, and a tool of the business's session without one is a builtin. Any other tool
 * was declared by the client (session.update, where `tools` may be overridden): a client tool,
 * whose call the client answers with a function_call_output. A name in both is the business's.
 */
export function toolHandlerFor(business: Business, name: string, offered?: readonly FunctionTool[]): ToolHandler {
  const handler = business.tool_handlers[name];
  if (handler) return handler;
  if (business.session.tools.some((t) => t.name === name)) return { type: 'builtin' };
  // A name nobody declared (the model made it up) stays here, where it becomes an "Unknown tool" result.
  if (offered && !offered.some((t) => t.name === name)) return { type: 'builtin' };
  return { type: 'client', timeout_ms: CLIENT_TOOL_TIMEOUT_MS };
}
