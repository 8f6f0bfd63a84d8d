/**
 * POST /v1/chat/completions of the fake: the local provider's wire format (src/local-provider/chat-wire.ts)
 * with scripted replies, scripted delays and scripted failures (including a mid-stream drop).
 */
import type { ServerResponse } from 'node:http';
import {
  ChunkWriter, resolveReply, sendCompletion, streamReply, textPieces, validateChatBody, type ChatRequestBody,
} from '../../src/local-provider/chat-wire';
import { apiError, delay, sendError } from './http';
import { takeChatReply, type FakeScript, type ScriptedFailure } from './script';

export {
  argumentPieces, resolveReply, textPieces, validateChatBody, type ResolvedReply, type ResolvedToolCall,
} from '../../src/local-provider/chat-wire';

export interface ChatContext {
  script: FakeScript;
  signal: AbortSignal;
}

export async function handleChat(ctx: ChatContext, res: ServerResponse, rawBody: unknown, failure?: ScriptedFailure): Promise<void> {
  const invalid = validateChatBody(rawBody);
  if (invalid) return sendError(res, 400, apiError(400, invalid.message, invalid.param));
  const body = rawBody as ChatRequestBody;
  if (failure?.midStream && body.stream) return streamThenDrop(ctx, res, body);
  const reply = resolveReply(takeChatReply(ctx.script, body));
  const { delays } = ctx.script;
  if (body.stream) {
    let first = true;
    // Waits before each content-bearing chunk: the first-token delay once, then the per-token delay.
    const pace = async (): Promise<boolean> => {
      const ok = await delay(first ? delays.llmFirstTokenMs : delays.llmTokenMs, ctx.signal);
      first = false;
      return ok && !res.destroyed;
    };
    return streamReply(res, body, reply, pace);
  }
  if (!(await delay(delays.llmFirstTokenMs, ctx.signal))) return;
  sendCompletion(res, body, reply);
}

/** Scripted mid-stream failure: a few chunks of a reply, then the socket is destroyed (no [DONE]). */
async function streamThenDrop(ctx: ChatContext, res: ServerResponse, body: ChatRequestBody): Promise<void> {
  const out = new ChunkWriter(res, body);
  out.open();
  if (!(await out.choice({ role: 'assistant' }))) return;
  for (const piece of textPieces('Let me check that')) {
    if (!(await delay(ctx.script.delays.llmTokenMs, ctx.signal)) || !(await out.choice({ content: piece }))) return;
  }
  res.destroy();
}
