/** Realtime conversation items: validation of client items, wire shape, and the chat view the script sees. */
import { randomId } from './http';
import type { Dialect, SessionConfig } from './realtime-session';
import type { ChatMessage, ChatRequestBody } from './script';

export interface ContentPart {
  type: string;
  text?: string;
  audio?: string;
  transcript?: string | null;
}

export interface ConversationItem {
  id: string;
  type: 'message' | 'function_call' | 'function_call_output';
  status: 'in_progress' | 'completed' | 'incomplete';
  role?: 'user' | 'assistant' | 'system';
  content?: ContentPart[];
  call_id?: string;
  name?: string;
  arguments?: string;
  output?: string;
  /** What the model "heard" for input audio (never sent as-is: OpenAI sends transcript null). */
  heard?: string;
  /** Assistant audio length in ms, for truncation. */
  audioMs?: number;
}

export interface ItemError {
  code: string;
  message: string;
  param: string;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Content part types per role; assistant parts differ by dialect (docs/PROTOCOLS.md §1.9). */
function allowedPartTypes(role: string, dialect: Dialect): string[] {
  if (role === 'user') return ['input_text', 'input_audio'];
  if (role === 'system') return ['input_text'];
  return dialect === 'beta' ? ['text'] : ['output_text'];
}

/** Checks a `conversation.item.create` item; returns the stored item or an error. */
export function itemFromClient(raw: unknown, dialect: Dialect, existing: ConversationItem[]): { item: ConversationItem } | { error: ItemError } {
  const err = (code: string, message: string, param: string): { error: ItemError } => ({ error: { code, message, param } });
  if (!isObj(raw)) return err('missing_required_parameter', "Missing required parameter: 'item'.", 'item');
  const id = typeof raw.id === 'string' && raw.id ? raw.id : randomId('item_');
  if (existing.some((i) => i.id === id)) return err('item_id_already_exists', `Item with id '${id}' already exists.`, 'item.id');
  const type = raw.type ?? 'message';
  if (type === 'message') {
    const role = raw.role;
    if (role !== 'user' && role !== 'assistant' && role !== 'system') return err('invalid_value', `Invalid value: '${String(role)}'. Supported values are: 'user', 'assistant', 'system'.`, 'item.role');
    if (!Array.isArray(raw.content)) return err('missing_required_parameter', "Missing required parameter: 'item.content'.", 'item.content');
    const allowed = allowedPartTypes(role, dialect);
    const content: ContentPart[] = [];
    for (const [i, part] of raw.content.entries()) {
      if (!isObj(part) || typeof part.type !== 'string' || !allowed.includes(part.type)) {
        return err('invalid_value', `Invalid value for 'item.content[${i}].type'. Supported values for role '${role}' are: ${allowed.map((a) => `'${a}'`).join(', ')}.`, `item.content[${i}].type`);
      }
      content.push({ ...part, type: part.type } as ContentPart);
    }
    return { item: { id, type: 'message', status: 'completed', role, content } };
  }
  if (type === 'function_call') {
    if (typeof raw.call_id !== 'string' || typeof raw.name !== 'string') return err('missing_required_parameter', "Missing required parameter: 'item.call_id' or 'item.name'.", 'item.call_id');
    const args = typeof raw.arguments === 'string' ? raw.arguments : '{}';
    return { item: { id, type: 'function_call', status: 'completed', call_id: raw.call_id, name: raw.name, arguments: args } };
  }
  if (type === 'function_call_output') {
    if (typeof raw.call_id !== 'string') return err('missing_required_parameter', "Missing required parameter: 'item.call_id'.", 'item.call_id');
    if (typeof raw.output !== 'string') return err('invalid_type', "Invalid type for 'item.output': expected a string.", 'item.output');
    if (!existing.some((i) => i.type === 'function_call' && i.call_id === raw.call_id)) {
      return err('invalid_value', `Tool call ID '${raw.call_id}' not found in conversation.`, 'item.call_id');
    }
    return { item: { id, type: 'function_call_output', status: 'completed', call_id: raw.call_id, output: raw.output } };
  }
  return err('invalid_value', `Invalid value: '${String(type)}'. Supported values are: 'message', 'function_call', 'function_call_output'.`, 'item.type');
}

/** The item as OpenAI sends it (`object: "realtime.item"`); input audio bytes are never echoed. */
export function serializeItem(item: ConversationItem): object {
  const base = { id: item.id, object: 'realtime.item', type: item.type, status: item.status };
  if (item.type === 'function_call') return { ...base, name: item.name, call_id: item.call_id, arguments: item.arguments };
  if (item.type === 'function_call_output') return { ...base, call_id: item.call_id, output: item.output };
  const content = (item.content ?? []).map((part) => {
    const { audio: _audio, ...rest } = part;
    return part.type === 'input_audio' ? { ...rest, transcript: part.transcript ?? null } : rest;
  });
  return { ...base, role: item.role, content };
}

export function toChatTool(tool: { name: string; description?: string; parameters?: unknown }): object {
  return { type: 'function', function: { name: tool.name, description: tool.description, parameters: tool.parameters } };
}

/** The conversation as a chat-completions body, so `script.chat` functions work for both APIs. */
export function toChatBody(session: SessionConfig, items: ConversationItem[], instructions = session.instructions): ChatRequestBody {
  const messages: ChatMessage[] = [];
  if (instructions) messages.push({ role: 'system', content: instructions });
  for (const item of items) {
    if (item.type === 'function_call') {
      const call = { id: item.call_id ?? item.id, type: 'function' as const, function: { name: item.name ?? '', arguments: item.arguments ?? '' } };
      const last = messages[messages.length - 1];
      if (last?.role === 'assistant' && last.tool_calls) last.tool_calls.push(call);
      else messages.push({ role: 'assistant', content: null, tool_calls: [call] });
    } else if (item.type === 'function_call_output') {
      messages.push({ role: 'tool', tool_call_id: item.call_id, content: item.output ?? '' });
    } else {
      const text = (item.content ?? []).map((p) => p.text ?? p.transcript ?? (p.type === 'input_audio' ? item.heard : '') ?? '').join(' ').trim();
      messages.push({ role: item.role ?? 'user', content: text });
    }
  }
  return {
    model: session.model,
    messages,
    tools: session.tools.map(toChatTool),
    tool_choice: session.toolChoice,
    stream: true,
    realtime: true,
  };
}
