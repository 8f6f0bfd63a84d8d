/**
 * What the fake provider will answer, mutated per test. Every field is optional;
 * with an empty script the fake still answers sensibly (see DEFAULT_* below).
 */

/** One chat message as the fake reads it (chat-completions shape; realtime conversations are converted to it). */
export interface ChatMessage {
  role: string;
  content?: string | null | { type: string; text?: string }[];
  tool_calls?: { id: string; type: 'function'; function: { name: string; arguments: string } }[];
  tool_call_id?: string;
  name?: string;
}

/** A chat-completions request body, or the realtime conversation translated to one (`realtime: true`). */
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

export interface ScriptedToolCall {
  name: string;
  /** A string is sent verbatim; an object is JSON-encoded. */
  arguments: string | object;
  id?: string;
}

export interface ChatReply {
  text?: string;
  tool_calls?: ScriptedToolCall[];
  /** Default: 'tool_calls' when there are tool calls, else 'stop'. */
  finish_reason?: string;
}

export type ChatScriptEntry = ChatReply | ((body: ChatRequestBody) => ChatReply);

export interface TranscriptionRequest {
  fields: Record<string, string>;
  file: UploadedFile;
}

export interface UploadedFile {
  name: string;
  type: string;
  size: number;
  bytes: Buffer;
}

export type FailureEndpoint = 'transcriptions' | 'chat' | 'speech' | 'realtime';

export interface ScriptedFailure {
  endpoint: FailureEndpoint;
  status: number;
  /** How many matching requests fail; each consumes one. */
  times: number;
  /** Replaces the default `{error:{message,type,param,code}}` body. */
  body?: object;
  headers?: Record<string, string>;
  /** chat + stream only: send a few chunks, then destroy the socket (status is ignored). */
  midStream?: boolean;
}

export interface ScriptDelays {
  sttMs?: number;
  llmFirstTokenMs?: number;
  llmTokenMs?: number;
  ttsFirstByteMs?: number;
  realtimeFirstDeltaMs?: number;
}

export interface FakeScript {
  transcripts: string[];
  transcribe?: (req: TranscriptionRequest) => string;
  chat: ChatScriptEntry[];
  delays: ScriptDelays;
  failures: ScriptedFailure[];
  speech: { msPerChar?: number };
}

export const DEFAULT_TRANSCRIPT = 'Hello, I would like some help.';
export const DEFAULT_MS_PER_CHAR = 40;
export const DEFAULT_GREETING = 'Hello! How can I help you today?';

export function createScript(): FakeScript {
  return { transcripts: [], chat: [], delays: {}, failures: [], speech: {} };
}

/** Empties a script in place, so references held by tests stay valid. */
export function resetScript(script: FakeScript): void {
  script.transcripts.length = 0;
  script.chat.length = 0;
  script.failures.length = 0;
  script.delays = {};
  script.speech = {};
  delete script.transcribe;
}

/** Takes the first failure scheduled for `endpoint`, consuming one of its `times`. */
export function takeFailure(script: FakeScript, endpoint: FailureEndpoint): ScriptedFailure | undefined {
  const index = script.failures.findIndex((f) => f.endpoint === endpoint && f.times > 0);
  const failure = script.failures[index];
  if (!failure) return undefined;
  failure.times -= 1;
  if (failure.times <= 0) script.failures.splice(index, 1);
  return failure;
}

export function takeTranscript(script: FakeScript, req: TranscriptionRequest): string {
  if (script.transcribe) return script.transcribe(req);
  return script.transcripts.shift() ?? DEFAULT_TRANSCRIPT;
}

export function takeChatReply(script: FakeScript, body: ChatRequestBody): ChatReply {
  const entry = script.chat.shift();
  if (entry === undefined) return defaultChatReply(body.messages);
  return typeof entry === 'function' ? entry(body) : entry;
}

export function messageText(message: ChatMessage | undefined): string {
  const content = message?.content;
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) return content.map((p) => p.text ?? '').join('');
  return '';
}

/**
 * With nothing scripted: after a tool result, "Here is what I found: <result, ≤200 chars>.";
 * otherwise "You said: <last user text>. How can I help further?" (two sentences, so the
 * service's sentence splitter has something to split); with no user text at all, DEFAULT_GREETING.
 */
export function defaultChatReply(messages: ChatMessage[]): ChatReply {
  const last = messages[messages.length - 1];
  if (last?.role === 'tool') {
    return { text: `Here is what I found: ${trimEnd(messageText(last).slice(0, 200))}.` };
  }
  const lastUser = [...messages].reverse().find((m) => m.role === 'user');
  const said = trimEnd(messageText(lastUser).trim());
  if (!said) return { text: DEFAULT_GREETING };
  return { text: `You said: ${said}. How can I help further?` };
}

function trimEnd(text: string): string {
  return text.replace(/[\s.!?]+$/u, '');
}

/** A rough, deterministic token count (≈4 characters per token). */
export function countTokens(text: string): number {
  return Math.ceil(text.length / 4);
}
