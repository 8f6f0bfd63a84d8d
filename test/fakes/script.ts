/**
 * What the fake provider will answer, mutated per test. Every field is optional;
 * with an empty script the fake still answers sensibly (see DEFAULT_* below).
 */

import type { ChatMessage, ChatReply, ChatRequestBody, ReplyToolCall } from '../../src/local-provider/chat-wire';
import type { UploadedFile } from '../../src/local-provider/transcriptions';
import { messageText } from '../../src/local-provider/chat-wire';

export type { ChatMessage, ChatReply, ChatRequestBody } from '../../src/local-provider/chat-wire';
export type { UploadedFile } from '../../src/local-provider/transcriptions';
export { countTokens, messageText } from '../../src/local-provider/chat-wire';
export type ScriptedToolCall = ReplyToolCall;

export type ChatScriptEntry = ChatReply | ((body: ChatRequestBody) => ChatReply);

export interface TranscriptionRequest {
  fields: Record<string, string>;
  file: UploadedFile;
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
