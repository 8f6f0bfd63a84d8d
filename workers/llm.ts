/**
 * LLM stage: the call's history → streaming chat completion (with the business's tools) →
 * text deltas to the gateway and one TTS job per sentence as soon as it is complete, so the first
 * audio does not wait for the whole answer. Tool calls run between rounds (bounded).
 */
import type { Job } from 'bullmq';
import type OpenAI from 'openai';
import type { LlmJob, TtsJob } from '../src/contracts/jobs';
import type { CallRecord } from '../src/contracts/call';
import type { ChatHistoryEntry } from '../src/adapters/call-store';
import type { Business } from '../src/contracts/business';
import { toChatTool } from '../src/contracts/tools';
import { SentenceSplitter } from '../src/core/sentences';
import { abortable } from '../src/core/abortable';
import { answeredToolCalls } from '../src/core/chat-history';
import { ToolCallAccumulator, type CompletedToolCall } from '../src/core/tool-call-accumulator';
import { jobId } from '../src/adapters/queues';
import { functionCallItemId } from '../src/adapters/output-stream';
import { WriteBatch } from '../src/core/write-batch';
import { describeError } from '../src/adapters/retry';
import { failedOn, type Attempt, type ProviderName } from '../src/adapters/failover';
import { runToolCall } from '../src/tools/executor';
import { toolHandlerFor } from '../src/tools/tool-handler';
import type { Redactor } from '../src/core/redact';
import { redactorFor } from '../src/security/call-filters';
import { beginJob, isAbort, type JobContext } from './job-context';
import type { WorkerDeps } from './runtime';
import { TurnSignals } from '../src/adapters/turn-signals';
import { clientToolOutput } from '../src/security/tool-output';

const MAX_TOOL_ROUNDS = 4;

type ChatMessage = OpenAI.Chat.Completions.ChatCompletionMessageParam;

export function createLlmProcessor(deps: WorkerDeps) {
  return async function processLlm(job: Job<LlmJob>): Promise<void> {
    const d = job.data;
    // One round trip before the provider request when the job names the business (the STT worker's do).
    const business = d.business_id ? deps.businesses.get(d.business_id) : null;
    business?.catch(() => {}); // awaited below (and rethrown there) unless an earlier read failed
    const [ctx, call] = await Promise.all([beginJob(deps, job, 'llm'), deps.calls.get(d.call_id)]);
    try {
      if (ctx.signal.aborted) return void (await ctx.log('cancelled'));
      const b = call && (await (call.business_id === d.business_id ? business : deps.businesses.get(call.business_id)));
      if (!call || !b) return void (await ctx.log('failed', { error: 'call or business not found' }));
      // A spoken turn's job was queued with its STT job: the answer starts when the transcript is in.
      const transcript = d.after_stt ? await ctx.input('transcript') : { value: 'ready', waitedMs: 0 };
      if (!transcript) return;
      // 'skip': no words, or the STT failed (the gateway ended the turn).
      if (transcript.value !== 'ready') return void (await ctx.log('completed', { skipped: 'no transcript to answer' }));
      const history = await deps.calls.history(d.call_id);
      ctx.later(ctx.log('started', { queue_wait_ms: ctx.startedAt - job.timestamp, ...(d.after_stt ? { transcript_wait_ms: transcript.waitedMs } : {}) }));
      ctx.later(deps.output.write(d.call_id, { kind: 'response_started', turn_id: d.turn_id }));
      await new LlmTurn(deps, d, ctx, call, b).run(history);
      await ctx.settle();
    } finally {
      ctx.release();
    }
  };
}

class LlmTurn {
  private readonly splitter = new SentenceSplitter();
  private text = '';
  private seq = 0;
  private firstOutputLogged = false;
  /** The first sentence's TTS job is queued and waits for its text (queueFirstTts). */
  private firstTtsWaiting = false;
  /** Text pieces go out without a round trip each; finish() waits for them. */
  private readonly writes = new WriteBatch();
  private readonly speak: boolean;
  /** output_filter.speech: what the agent says is masked before TTS and the client (whole sentences). */
  private readonly speechRedact: Redactor | null;
  private shownChars = 0;
  /** The provider that gave the last round (for the stage log). */
  private provider: ProviderName = 'primary';

  constructor(
    private readonly deps: WorkerDeps,
    private readonly d: LlmJob,
    private readonly ctx: JobContext,
    private readonly call: CallRecord,
    private readonly business: Business,
  ) {
    this.speak = (d.overrides?.modalities ?? call.session.modalities).includes('audio');
    this.speechRedact = business.output_filter.speech ? redactorFor(business) : null;
  }

  async run(history: ChatHistoryEntry[]): Promise<void> {
    const { deps, d, ctx } = this;
    const messages = this.messages(history);
    // A redelivered job finds the tool rounds its first worker finished in the history (their
    // results are in `messages`): it goes on with the next round.
    const firstRound = ctx.attempt > 1 ? toolRoundsDone(history, d.assistant_item_id) : 0;
    const resumeAt = ctx.attempt > 1 ? await this.resume(firstRound) : 0;
    // Its first worker got as far as a client tool's call: that ended the response.
    const ended = ctx.attempt > 1 && this.endedAtClientCall(history, firstRound);
    if (this.speak && this.seq === 0 && !ended) this.queueFirstTts();
    let usage: Record<string, number> | undefined;
    try {
      for (let round = firstRound; !ended && round <= MAX_TOOL_ROUNDS; round++) {
        const allowTools = round < MAX_TOOL_ROUNDS;
        // A resumed round restarts where it began: what the new stream repeats of the text
        // already sent is skipped, what differs follows it (textDelta).
        const roundStart = round === firstRound ? resumeAt : this.text.length;
        const { value: result, provider } = await deps.providers.llm.run((a) => this.stream(messages, allowTools, roundStart, a), {
          signal: ctx.signal,
          onRetry: (r) => ctx.log('retry', { retry: r.retry, delay_ms: r.delayMs, error: describeError(r.error), provider: r.provider }),
          onFailover: (f) => ctx.log('retry', { failover: true, provider: 'fallback', error: describeError(f.error), spoken_chars: this.text.length }),
        });
        this.provider = provider;
        usage = result.usage ?? usage;
        if (result.toolCalls.length === 0) break;
        if ((await this.runTools(round, result.toolCalls, messages)) === 'client') break;
      }
    } catch (err) {
      if (isAbort(err, ctx.signal)) return void (await ctx.log('cancelled', { text_chars: this.text.length }, Date.now() - ctx.startedAt));
      this.provider = failedOn(err) ?? this.provider;
      await ctx.log('failed', { error: describeError(err), provider: this.provider }, Date.now() - ctx.startedAt);
      await this.fallback(describeError(err));
      return;
    }
    for (const s of this.splitter.flush()) await this.sentence(s);
    await this.finish(usage);
  }

  /**
   * A redelivered job (its first worker died mid-answer) picks up what was already sent, so the
   * caller neither hears the start twice nor gets a garbled mix if the model now words it
   * differently. With the speech filter on, what was shown is the redacted text, which cannot be
   * resumed from: the answer then simply starts over.
   */
  private async resume(round: number): Promise<number> {
    if (this.speechRedact) return 0;
    const prior = await this.deps.output.turnText(this.d.call_id, this.d.turn_id);
    if (!prior.text) return 0;
    this.text = prior.text;
    this.seq = prior.sentences.length;
    this.firstOutputLogged = true;
    // Text after the last sentence handed to TTS is still waiting in the splitter.
    const last = prior.sentences.at(-1);
    const spokenUpTo = last ? prior.text.lastIndexOf(last) + last.length : 0;
    if (spokenUpTo < prior.text.length) for (const s of this.splitter.push(prior.text.slice(spokenUpTo))) await this.sentence(s);
    await this.ctx.log('retry', { resumed_chars: prior.text.length, resumed_sentences: this.seq, resumed_round: round });
    return prior.roundStarts[round] ?? prior.text.length;
  }

  private endedAtClientCall(history: ChatHistoryEntry[], roundsDone: number): boolean {
    if (roundsDone === 0) return false;
    const entry = history.find((h) => h.item_id === toolCallsItemId(this.d.assistant_item_id, roundsDone - 1));
    const calls = (entry?.message['tool_calls'] ?? []) as { function: { name: string } }[];
    return calls.some((c) => toolHandlerFor(this.business, c.function.name, this.call.session.tools).type === 'client');
  }

  private messages(history: ChatHistoryEntry[]): ChatMessage[] {
    const instructions = this.d.overrides?.instructions ?? this.call.session.instructions;
    const past = answeredToolCalls(history.map((h) => h.message as unknown as ChatMessage & { role: string }));
    return [{ role: 'system', content: instructions }, ...past];
  }

  /**
   * One streamed completion. Text is forwarded as it comes; a retry after partial output resumes by
   * offset at the gateway. On the fallback, once words of this answer were said (the primary's
   * stream broke mid-answer), it is not restarted: the fallback is told what the caller already
   * heard and asked to continue from there (continuation()).
   */
  private async stream(messages: ChatMessage[], allowTools: boolean, roundStart: number, a: Attempt) {
    const { d, call } = this;
    const s = call.session;
    const continuing = a.provider.name === 'fallback' && this.text.length > roundStart;
    if (continuing) messages = this.continuation(messages);
    const tools = allowTools && s.tools.length > 0 && s.tool_choice !== 'none' ? s.tools.map(toChatTool) : undefined;
    const maxTokens = d.overrides?.max_output_tokens ?? s.max_response_output_tokens;
    const toolChoice = typeof s.tool_choice === 'string' ? s.tool_choice : { type: 'function' as const, function: { name: s.tool_choice.name } };
    const stream = await a.provider.client.chat.completions.create(
      {
        model: a.provider.model ?? s.model,
        messages,
        stream: true,
        stream_options: { include_usage: true },
        temperature: d.overrides?.temperature ?? s.temperature,
        ...(maxTokens !== 'inf' ? { max_completion_tokens: maxTokens } : {}),
        ...(tools ? { tools, tool_choice: toolChoice } : {}),
      },
      { signal: a.signal },
    );
    const acc = new ToolCallAccumulator();
    let usage: Record<string, number> | undefined;
    // Where this attempt's text lands in the answer: the round's start, moved if a retry diverges
    // (a continuation lands after everything said). `join`: text after a tool round or a
    // continuation is joined to what came before with a space unless either side brings one.
    const at = { base: continuing ? this.text.length : roundStart, join: continuing || roundStart > 0 };
    let roundText = '';
    for await (const chunk of abortable(stream, a.signal)) {
      if (chunk.usage) usage = { input_tokens: chunk.usage.prompt_tokens, output_tokens: chunk.usage.completion_tokens, total_tokens: chunk.usage.total_tokens };
      const delta = chunk.choices[0]?.delta;
      if (!delta) continue;
      if (delta.tool_calls || delta.content) a.firstByte();
      if (delta.tool_calls) for (const tc of delta.tool_calls) acc.push(tc);
      if (delta.content) {
        roundText += delta.content;
        await this.textDelta(at, roundText, delta.content, a.provider.name);
      }
    }
    return { toolCalls: acc.finish(), usage };
  }

  /**
   * The primary broke off mid-answer: the fallback gets the answer so far in its instructions (not
   * as a trailing assistant message, which many chat templates of self-hosted servers reject).
   */
  private continuation(messages: ChatMessage[]): ChatMessage[] {
    const [system, ...rest] = messages;
    const note =
      `\n\nYour answer to the last message was cut off; the caller already heard this part of it: "${this.text.trim()}". ` +
      'Continue the answer from exactly where it stopped. Do not repeat any of it and do not start over.';
    return [{ role: 'system', content: `${String(system?.content ?? '')}${note}` }, ...rest];
  }

  private async textDelta(pos: { base: number; join?: boolean }, roundText: string, piece: string, provider: ProviderName = 'primary') {
    if (pos.join) {
      // Decided on the text before this piece's place (a redelivered job has more after it).
      pos.join = false;
      const sep = /\s$/.test(this.text.slice(0, pos.base)) || /^[\s,.;:!?]/.test(piece) ? '' : ' ';
      pos.base += sep.length;
      piece = sep + piece;
    }
    const offset = pos.base + roundText.length - piece.length;
    if (offset < this.text.length) {
      // A retried stream (after a dropped one) repeats text already sent: skip what we have. If it
      // says something else, what was sent cannot be unsaid: it stays as its own sentence, and the
      // new text follows it.
      const sent = this.text.slice(offset, offset + piece.length);
      if (piece.startsWith(sent)) {
        piece = piece.slice(sent.length);
        if (!piece) return;
      } else {
        for (const s of this.splitter.flush()) await this.sentence(s);
        const sep = /\s$/.test(this.text) ? '' : ' ';
        pos.base = this.text.length + sep.length - (roundText.length - piece.length);
        piece = sep + piece;
      }
    }
    if (!this.firstOutputLogged) {
      this.firstOutputLogged = true;
      this.writes.add(this.ctx.log('first_output', { provider }, Date.now() - this.ctx.startedAt));
    }
    const at = this.text.length;
    this.text += piece;
    // With the speech filter, text reaches the client per redacted sentence (see sentence()).
    if (!this.speechRedact) this.writes.add(this.deps.output.write(this.d.call_id, { kind: 'text_delta', turn_id: this.d.turn_id, offset: at, text: piece }));
    for (const s of this.splitter.push(piece)) await this.sentence(s);
  }

  /**
   * The first sentence's TTS job goes now, alongside the chat request, and waits in its worker for
   * the sentence (adapters/turn-signals.ts): the first audio does not wait for a queue hop.
   */
  private queueFirstTts() {
    const { d } = this;
    const job: TtsJob = { call_id: d.call_id, turn_id: d.turn_id, response_id: d.response_id, assistant_item_id: d.assistant_item_id, seq: 0, text: '', text_pending: true };
    this.ctx.later(this.deps.queues.tts.add('tts', job, { jobId: jobId(d.call_id, d.turn_id, 'tts', 0) }));
    this.firstTtsWaiting = true;
  }

  /** Tells the waiting first TTS job its sentence ('' when the answer has none: it ends). */
  private async markFirstSentence(sentence: { text: string; fallback?: boolean } | null) {
    this.firstTtsWaiting = false;
    await TurnSignals.mark(this.deps.redis, this.deps.keys, this.d.call_id, this.d.turn_id, 'sentence0', sentence ? JSON.stringify(sentence) : '');
  }

  private async sentence(text: string, fallback = false) {
    const seq = this.seq++;
    const { deps, d } = this;
    if (this.speechRedact) {
      text = this.speechRedact(text);
      const piece = (this.shownChars > 0 ? ' ' : '') + text;
      this.writes.add(deps.output.write(d.call_id, { kind: 'text_delta', turn_id: d.turn_id, offset: this.shownChars, text: piece }));
      this.shownChars += piece.length;
    }
    this.writes.add(deps.output.write(d.call_id, { kind: 'sentence', turn_id: d.turn_id, seq, text }));
    if (!this.speak) return;
    if (seq === 0 && this.firstTtsWaiting) return this.markFirstSentence({ text, ...(fallback ? { fallback } : {}) });
    const job: TtsJob = { call_id: d.call_id, turn_id: d.turn_id, response_id: d.response_id, assistant_item_id: d.assistant_item_id, seq, text, ...(fallback ? { fallback } : {}) };
    await deps.queues.tts.add('tts', job, { jobId: jobId(d.call_id, d.turn_id, 'tts', seq) });
  }

  /**
   * Runs a round's tool calls. With a client tool among them the response ends here, as in
   * OpenAI's API: the client runs it, sends its function_call_output and then response.create,
   * which is the next response ('client' is returned). Business tools in that round still run.
   */
  private async runTools(round: number, calls: CompletedToolCall[], messages: ChatMessage[]): Promise<'client' | 'server'> {
    const { deps, d, ctx, business } = this;
    // Text said before the tool call stays in the history as its own assistant content.
    const assistant: ChatMessage = {
      role: 'assistant',
      content: null,
      tool_calls: calls.map((c) => ({ id: c.id, type: 'function' as const, function: { name: c.name, arguments: c.arguments } })),
    };
    const items = calls.map((c, i) => ({ ...c, item_id: functionCallItemId(d.assistant_item_id, round, i) }));
    const tools = this.call.session.tools;
    const isClient = (name: string) => toolHandlerFor(business, name, tools).type === 'client';
    const clientRound = items.some((c) => isClient(c.name));
    const callsEntry = { item_id: toolCallsItemId(d.assistant_item_id, round), turn_id: d.turn_id, message: assistant as unknown as Record<string, unknown> };
    // The call is in the history before the client hears of it, so its output lands after it.
    if (clientRound) await deps.calls.appendHistoryOnce(d.call_id, `${d.turn_id}:tools:${round}`, [callsEntry]);
    // Sent in order on the worker's connection, not awaited one by one (finish() waits for them).
    for (const c of items) {
      this.writes.add(deps.output.write(d.call_id, { kind: 'function_call', turn_id: d.turn_id, call_id: c.id, name: c.name, arguments: c.arguments, item_id: c.item_id }));
    }
    const toolCtx = {
      business,
      callId: d.call_id,
      turnId: d.turn_id,
      scope: `round${round}`,
      // The tools the model was offered: a client-declared one is the client's to run.
      tools: this.call.session.tools,
      signal: ctx.signal,
      attempt: ctx.attempt,
      requestCallAction: (action: 'transfer' | 'end', reason: string | undefined) =>
        deps.output.write(d.call_id, { kind: 'call_action', turn_id: d.turn_id, action, reason }),
    };
    // Several calls in one model turn run in parallel; the client runs its own.
    const serverItems = items.filter((c) => !isClient(c.name));
    const results = await Promise.all(serverItems.map((c) => runToolCall(deps, toolCtx, c)));
    for (const [i, r] of results.entries()) {
      this.writes.add(deps.output.write(d.call_id, { kind: 'function_call_output', turn_id: d.turn_id, call_id: r.call_id, name: r.name, arguments: r.arguments, output: clientToolOutput(business, r.output), duration_ms: r.duration_ms, item_id: serverItems[i]!.item_id }));
    }
    const toolMessages: ChatMessage[] = results.map((r) => ({ role: 'tool', tool_call_id: r.call_id, content: r.output }));
    messages.push(assistant, ...toolMessages);
    const resultEntries = toolMessages.map((m, i) => ({ item_id: `${d.assistant_item_id}_tr${round}_${i}`, turn_id: d.turn_id, message: m as unknown as Record<string, unknown> }));
    if (clientRound) {
      if (resultEntries.length) await deps.calls.appendHistoryOnce(d.call_id, `${d.turn_id}:toolresults:${round}`, resultEntries);
      return 'client';
    }
    await deps.calls.appendHistoryOnce(d.call_id, `${d.turn_id}:tools:${round}`, [callsEntry, ...resultEntries]);
    return 'server';
  }

  private async finish(usage: Record<string, number> | undefined) {
    const { deps, d, ctx } = this;
    const text = this.speechRedact ? this.speechRedact(this.text.trim()) : this.text.trim();
    if (text) {
      const appended = await deps.calls.appendHistoryOnce(d.call_id, `${d.turn_id}:assistant`, [
        { item_id: d.assistant_item_id, turn_id: d.turn_id, message: { role: 'assistant', content: text } },
      ]);
      if (appended) {
        ctx.later(deps.calls.appendTranscript(d.call_id, { ts: Date.now(), role: 'assistant', turn_id: d.turn_id, text }));
        ctx.later(deps.audit.appendForCall(d.call_id, { type: 'response.agent', actor: 'system', data: { turn_id: d.turn_id, text } }));
      }
    }
    if (this.firstTtsWaiting) ctx.later(this.markFirstSentence(null));
    await this.writes.flush();
    ctx.later(deps.output.write(d.call_id, { kind: 'text_done', turn_id: d.turn_id, text, sentences: this.seq, usage }));
    ctx.later(ctx.log('completed', { response_text: text, sentences: this.seq, provider: this.provider, ...(usage ? { usage } : {}) }, Date.now() - ctx.startedAt));
  }

  /** The turn failed for good: the caller hears the business's fallback message, and the call goes on. */
  private async fallback(error: string) {
    const { deps, d } = this;
    const message = this.business.fallback_message;
    await deps.output.write(d.call_id, { kind: 'turn_failed', turn_id: d.turn_id, stage: 'llm', error, fallback_text: message });
    const at = this.text.length;
    const piece = (at > 0 ? ' ' : '') + message;
    this.text += piece;
    if (!this.speechRedact) this.writes.add(deps.output.write(d.call_id, { kind: 'text_delta', turn_id: d.turn_id, offset: at, text: piece }));
    await this.sentence(message, true);
    await this.finish(undefined);
  }
}

/** The history entry of a tool round's assistant message (its tool_calls). */
function toolCallsItemId(assistantItemId: string, round: number): string {
  return `${assistantItemId}_tc${round}`;
}

/** Tool rounds of this answer already in the history: 0, 1, … are, so the next is their count. */
function toolRoundsDone(history: ChatHistoryEntry[], assistantItemId: string): number {
  let n = 0;
  while (history.some((h) => h.item_id === toolCallsItemId(assistantItemId, n))) n++;
  return n;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  void import('./runtime').then((m) => m.runStageMain('llm'));
}
