/**
 * Tool definitions. Businesses may send either the chat-completions shape
 * `{type:"function", function:{name, description, parameters}}` or the realtime shape
 * `{type:"function", name, description, parameters}`; both are stored in the realtime (flat) shape.
 */
import { z } from 'zod';

const toolName = z.string().regex(/^[a-zA-Z0-9_-]{1,64}$/, 'tool names are 1-64 letters, digits, _ or -');
const jsonSchemaObject = z.record(z.string(), z.unknown());

export const FunctionTool = z.object({
  type: z.literal('function'),
  name: toolName,
  description: z.string().max(4096).optional(),
  parameters: jsonSchemaObject.optional(),
});
export type FunctionTool = z.infer<typeof FunctionTool>;

const ChatTool = z.object({
  type: z.literal('function'),
  function: z.object({
    name: toolName,
    description: z.string().max(4096).optional(),
    parameters: jsonSchemaObject.optional(),
    strict: z.boolean().optional(),
  }),
});

/** Accepts either shape and yields the flat one. */
export const ToolInput = z.union([FunctionTool, ChatTool]).transform((t): FunctionTool => {
  if ('function' in t) {
    const { name, description, parameters } = t.function;
    return { type: 'function', name, description, parameters };
  }
  return t;
});

/** The chat-completions shape, for the LLM request. */
export function toChatTool(t: FunctionTool) {
  return {
    type: 'function' as const,
    function: {
      name: t.name,
      ...(t.description !== undefined ? { description: t.description } : {}),
      parameters: t.parameters ?? { type: 'object', properties: {} },
    },
  };
}

export const ToolChoice = z
  .union([
    z.enum(['auto', 'none', 'required']),
    z.object({ type: z.literal('function'), name: toolName }),
    z.object({ type: z.literal('function'), function: z.object({ name: toolName }) }),
  ])
  .transform((c) => (typeof c === 'object' && 'function' in c ? { type: 'function' as const, name: c.function.name } : c));
export type ToolChoice = z.infer<typeof ToolChoice>;

export const ToolHandler = z.union([
  z.literal('builtin').transform(() => ({ type: 'builtin' as const })),
  z.literal('client').transform(() => ({ type: 'client' as const, timeout_ms: 30_000 })),
  z.object({ type: z.literal('builtin') }),
  z.object({ type: z.literal('client'), timeout_ms: z.number().int().min(100).max(300_000).default(30_000) }),
  z.object({
    type: z.literal('webhook'),
    url: z.url({ protocol: /^https?$/ }),
    timeout_ms: z.number().int().min(100).max(60_000).default(5_000),
    secret: z.string().min(8).optional(),
  }),
]);
export type ToolHandler = z.infer<typeof ToolHandler>;
