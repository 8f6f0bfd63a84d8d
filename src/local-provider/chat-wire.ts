/**
 * POST /v1/chat/completions on the wire: request validation as OpenAI does it, and a reply written
 * as one JSON completion or as SSE chunks (text pieces, then tool calls with their arguments in
 * pieces), the way the official `openai` client expects them (docs/PROTOCOLS.md §3).
 */
import type { ServerResponse } from 'node:http';
import { commonHeaders, randomId, sendJson, write } from './http';

/** One chat message as the provider reads it. */
export interface ChatMessage {
  role: string;
  content?: string | null | { type: string; text?: string }[];
  tool_calls?: { id: string; type: 'function'; function: { name: string; arguments: string } }[];
  tool_call_id?: string;
  name?: string;
}

/** A chat-completions request body (`realtime: true` when a realtime conversation was translated to one). */
export interface ChatRequestBody {
  model?: string;
  messages: ChatMessage[];
  tools?: unknown[];
  tool_choice?: unknown;
  stream?: boolean;
  stream_options?: { include_usage?: boolean } | null;
  realtime?: boolean;
  [key: string]: unknown;
}

export interface ReplyToolCall {
  name: string;
  /** A string is sent verbatim; an object is JSON-encoded. */
  arguments: string | object;
  id?: string;
}

/** What the assistant answers: text, tool calls, or both (text first, as OpenAI streams it). */
export interface ChatReply {
  text?: string;
  tool_calls?: ReplyToolCall[];
  /** Default: 'tool_calls' when there are tool calls, else 'stop'. */
  finish_reason?: string;
}

export interface ResolvedToolCall {
  id: string;
  name: string;
  arguments: string;
}

export interface ResolvedReply {
  text: string;
  toolCalls: ResolvedToolCall[];
  finishReason: string;
}

export function resolveReply(reply: ChatReply): ResolvedReply {
  const toolCalls = (reply.tool_calls ?? []).map((call) => ({
    id: call.id ?? randomId('call_'),
    name: call.name,
    arguments: typeof call.arguments === 'string' ? call.arguments : JSON.stringify(call.arguments),
  }));
  return {
    text: reply.text ?? '',
    toolCalls,
    finishReason: reply.finish_reason ?? (toolCalls.length > 0 ? 'tool_calls' : 'stop'),
  };
}

export function messageText(message: ChatMessage | undefined): string {
  const content = message?.content;
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) return content.map((p) => p.text ?? '').join('');
  return '';
}

/** A rough, deterministic token count (≈4 characters per token). */
export function countTokens(text: string): number {
  return Math.ceil(text.length / 4);
}

/** Splits text into token-like pieces of a few characters (" would", "Hel", "lo"), keeping every character. */
export function textPieces(text: string, maxLength = 5): string[] {
  const pieces: string[] = [];
  for (const word of text.match(/\s*\S+|\s+$/gu) ?? []) {
    for (let i = 0; i < word.length; i += maxLength) pieces.push(word.slice(i, i + maxLength));
  }
  return pieces;
}

/** Splits tool arguments into at least two pieces when possible, as OpenAI streams them. */
export function argumentPieces(args: string): string[] {
  if (args.length <= 1) return [args];
  const size = Math.max(1, Math.min(8, Math.ceil(args.length / 3)));
  const pieces: string[] = [];
  for (let i = 0; i < args.length; i += size) pieces.push(args.slice(i, i + size));
  return pieces;
}

/** Returns an error message when the body is not something OpenAI would accept, else undefined. */
export function validateChatBody(body: unknown): { message: string; param: string | null } | undefined {
  if (typeof body !== 'object' || body === null) return { message: 'The request body must be a JSON object.', param: null };
  const b = body as Partial<ChatRequestBody>;
  if (typeof b.model !== 'string' || !b.model) return { message: 'you must provide a model parameter', param: 'model' };
  if (!Array.isArray(b.messages) || b.messages.length === 0) {
    return { message: "Invalid 'messages': empty array. Expected an array with minimum length 1.", param: 'messages' };
  }
  return validateToolMessages(b.messages);
}

/** Each assistant tool_calls message must be answered by one tool message per call id, and vice versa. */
function validateToolMessages(messages: ChatMessage[]): { message: string; param: string | null } | undefined {
  let pending = new Set<string>();
  for (const [i, m] of messages.entries()) {
    if (m.role === 'tool') {
      if (!m.tool_call_id || !pending.has(m.tool_call_id)) {
        return {
          message: "Invalid parameter: messages with role 'tool' must be a response to a preceeding message with 'tool_calls'.",
          param: `messages.[${i}].role`,
        };
      }
      pending.delete(m.tool_call_id);
      continue;
    }
    if (pending.size > 0) {
      return {
        message: `An assistant message with 'tool_calls' must be followed by tool messages responding to each 'tool_call_id'. The following tool_call_ids did not have response messages: ${[...pending].join(', ')}`,
        param: 'messages',
      };
    }
    pending = new Set((m.tool_calls ?? []).map((c) => c.id));
  }
  return undefined;
}

function usageFor(body: ChatRequestBody, reply: ResolvedReply) {
  const prompt = countTokens(body.messages.map((m) => messageText(m)).join(' ')) + 10;
  const completion = countTokens(reply.text) + reply.toolCalls.reduce((n, c) => n + countTokens(c.name + c.arguments), 0) || 1;
  return {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt + completion,
    prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
    completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
  };
}

/** A non-streaming answer: one `chat.completion` object. */
export function sendCompletion(res: ServerResponse, body: ChatRequestBody, reply: ResolvedReply): void {
  sendJson(res, 200, {
    id: randomId('chatcmpl-'),
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model: body.model,
    choices: [{
      index: 0,
      message: {
        role: 'assistant',
        content: reply.text || (reply.toolCalls.length > 0 ? null : ''),
        refusal: null,
        annotations: [],
        ...(reply.toolCalls.length > 0 && {
          tool_calls: reply.toolCalls.map((c) => ({ id: c.id, type: 'function', function: { name: c.name, arguments: c.arguments } })),
        }),
      },
      logprobs: null,
      finish_reason: reply.finishReason,
    }],
    usage: usageFor(body, reply),
    service_tier: 'default',
    system_fingerprint: 'fp_local',
  });
}

/** Writes `chat.completion.chunk` SSE events for one streamed answer. */
export class ChunkWriter {
  private readonly id = randomId('chatcmpl-');
  private readonly created = Math.floor(Date.now() / 1000);
  constructor(private readonly res: ServerResponse, private readonly body: ChatRequestBody) {}

  private get includeUsage(): boolean {
    return this.body.stream_options?.include_usage === true;
  }

  open(): void {
    this.res.writeHead(200, { ...commonHeaders(), 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive' });
  }

  choice(delta: object, finishReason: string | null = null): Promise<boolean> {
    return this.send({ choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }], ...(this.includeUsage && { usage: null }) });
  }

  usage(usage: object): Promise<boolean> {
    return this.send({ choices: [], usage });
  }

  private send(fields: object): Promise<boolean> {
    const chunk = { id: this.id, object: 'chat.completion.chunk', created: this.created, model: this.body.model, system_fingerprint: 'fp_local', ...fields };
    return write(this.res, `data: ${JSON.stringify(chunk)}\n\n`);
  }
}

/**
 * Streams a reply: role, text pieces, each tool call (id and name, then its arguments in pieces),
 * the finish reason, usage when asked for, [DONE]. `pace` runs before each content-bearing chunk
 * (the fake's scripted delays); false stops the stream (the client went away).
 */
export async function streamReply(
  res: ServerResponse,
  body: ChatRequestBody,
  reply: ResolvedReply,
  pace: () => Promise<boolean> = () => Promise.resolve(!res.destroyed),
): Promise<void> {
  const out = new ChunkWriter(res, body);
  out.open();
  if (!(await out.choice({ role: 'assistant' }))) return;
  for (const piece of textPieces(reply.text)) {
    if (!(await pace()) || !(await out.choice({ content: piece }))) return;
  }
  for (const [index, call] of reply.toolCalls.entries()) {
    const head = { index, id: call.id, type: 'function', function: { name: call.name, arguments: '' } };
    if (!(await pace()) || !(await out.choice({ tool_calls: [head] }))) return;
    for (const piece of argumentPieces(call.arguments)) {
      if (!(await pace()) || !(await out.choice({ tool_calls: [{ index, function: { arguments: piece } }] }))) return;
    }
  }
  if (!(await out.choice({}, reply.finishReason))) return;
  if (body.stream_options?.include_usage && !(await out.usage(usageFor(body, reply)))) return;
  if (!(await write(res, 'data: [DONE]\n\n'))) return;
  res.end();
}
