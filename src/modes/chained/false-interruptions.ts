/**
 * False-interruption recovery in chained mode (DESIGN.md §8). A barge-in cancels the answer at
 * once (the caller must not talk over it), but the answer is kept: what it said, sentence by
 * sentence, and where the caller stopped hearing it. The speech that interrupted becomes a
 * "probe" turn: it is transcribed, but the STT job does not start the LLM; the transcript
 * decides here. No words (empty, or only business.interruption.backchannels) → the agent
 * resumes: a new response speaks the unheard rest, re-synthesised by the TTS stage from the
 * sentences' text (no LLM request), and history keeps one assistant message with the whole
 * answer. Words → the probe turn is answered as any turn (its LLM job is queued from here).
 * If no transcript has said "words" within timeout_ms of the end of the speech, it resumes too;
 * words that arrive later interrupt the resumed answer like a barge-in and are answered.
 *
 * An answer the LLM is still writing at the barge-in is "held": its LLM job is not cancelled
 * until the decision (the client got response.done cancelled and hears nothing of it), so a
 * resumed answer is the whole answer, not the part written before the cough. Its sentences
 * reach the resumed response as they come; a real interruption cancels the job then. The cost:
 * for up to the decision time (≈ silence_duration_ms + STT, at most timeout_ms) the job goes
 * on, including server-side tool calls it makes, and its own TTS jobs run for nothing.
 *
 * Why re-synthesise instead of replaying the audio already made: the gateway does not keep the
 * audio it forwards, sentences cut by the cancel have only part of theirs, and the rest was never
 * made. One path (TTS jobs for the rest) covers every case; the cost is one TTS first byte.
 */
import type { TtsJob } from '../../contracts/jobs';
import type { StageOutput } from '../../contracts/output';
import { DEFAULT_BACKCHANNELS } from '../../contracts/business';
import { jobId } from '../../adapters/queues';
import { falseInterruptionReason, joinAnswer, resumePlan } from '../../core/false-interruption';
import type { SpokenSentence } from '../../core/truncate';
import type { ChainedState } from './call-state';
import type { AnswerOrigin } from './heard-history';
import type { Turn } from './turn';

export type ResumeReason = 'no_words' | 'backchannel' | 'timeout' | 'transcription_failed';

/** What was cut by a barge-in: the response's sentences and how much of its audio was heard. */
export interface CutAnswer {
  itemId: string;
  turnId: string;
  sentences: SpokenSentence[];
  heardMs: number;
  modalities: Turn['modalities'];
}

interface Probe {
  turn: Turn;
  userItemId: string;
}

interface Pending {
  origin: AnswerOrigin;
  /** The cut response's sentences (a held LLM adds more) and how much of its audio was heard. */
  sentences: SpokenSentence[];
  heardMs: number;
  modalities: Turn['modalities'];
  /** The caller is speaking (speech started, not yet committed). */
  speaking: boolean;
  timer: NodeJS.Timeout | null;
  /** Resumed (or given up): only late probe transcripts are still handled. */
  settled: boolean;
  /** The response that resumed it, to interrupt if words arrive late. */
  resumedTurn: Turn | null;
}

/** An LLM job left running through the decision (its turn was still being written). */
interface Held {
  turnId: string;
  /** Sentences of it already taken (by seq): a redelivered record is not taken twice. */
  seen: number;
  done: boolean;
  /** Sentences that came between the barge-in and the pending answer being set up (armed). */
  early: string[] | null;
}

export class FalseInterruptions {
  private pending: Pending | null = null;
  private held: Held | null = null;
  private answerWrites: Promise<void> = Promise.resolve();
  /** Interrupting turns whose transcript has not decided yet (they may outlive a pending). */
  private readonly probes = new Map<string, Probe>();

  constructor(
    private readonly st: ChainedState,
    /** Stops a resumed answer (cancel, or cut while it plays) when late words turn out to be a real interruption. */
    private readonly interrupt: (turn: Turn) => Promise<void>,
  ) {}

  private get settings() {
    const i = this.st.business.interruption;
    return {
      timeoutMs: i?.false_interruption?.timeout_ms ?? 2_000,
      resume: i?.false_interruption?.resume ?? true,
      backchannels: i?.backchannels ?? DEFAULT_BACKCHANNELS,
    };
  }

  /** True while a barge-in may still turn out false: the next committed turn is a probe. */
  get watching(): boolean {
    return this.pending !== null && !this.pending.settled;
  }

  private resumable(modalities: Turn['modalities']): boolean {
    const td = this.st.session.turn_detection;
    // With create_response off the client decides when to answer: nothing resumes by itself.
    return this.settings.resume && modalities.includes('audio') && !!td && td.create_response !== false;
  }

  /**
   * Barge-in on a turn whose LLM is still writing: leave its job running until the decision.
   * Called as the cancel starts (the turn's output is ignored from then on), so no sentence is lost.
   */
  hold(turn: Turn): boolean {
    if (!this.resumable(turn.modalities) || turn.totalSentences !== null || turn.hadClientTool || this.held !== null) return false;
    this.held = { turnId: turn.id, seen: turn.sentences.length, done: false, early: [] };
    return true;
  }

  /** A barge-in cut an answer (the caller's speech is in progress): keep what is left to say. */
  async armed(cut: CutAnswer, held: boolean): Promise<void> {
    this.clearTimer();
    const before = this.pending;
    this.pending = null;
    const early = held && this.held ? (this.held.early ?? []) : [];
    if (held && this.held) this.held.early = null;
    // A held job feeds the answer it belongs to: the cut resumed response continues it, anything else does not.
    else if (this.held && before?.resumedTurn?.id !== cut.turnId) await this.cancelHeld();
    if (!this.resumable(cut.modalities)) return this.cancelHeld();
    const sentences = [...cut.sentences, ...early.map((text) => ({ text, ms: 0 }))];
    if (!this.heldWriting && resumePlan(sentences, cut.heardMs).rest.length === 0) return this.cancelHeld();
    this.pending = {
      origin: this.st.heard.originOf(cut.itemId, cut.turnId),
      sentences,
      heardMs: cut.heardMs,
      modalities: cut.modalities,
      speaking: true,
      timer: null,
      settled: false,
      resumedTurn: null,
    };
  }

  private get heldWriting(): boolean {
    return this.held !== null && !this.held.done;
  }

  /** Output of every turn; only the held LLM job's sentences and end matter here. */
  async onOutput(out: StageOutput): Promise<void> {
    const held = this.held;
    if (!held || out.turn_id !== held.turnId) return;
    if (out.kind === 'sentence' && out.seq >= held.seen) {
      held.seen = out.seq + 1;
      if (held.early) held.early.push(out.text);
      else await this.moreText(out.text);
    } else if (out.kind === 'text_done' && !held.done) {
      held.done = true;
      if (!held.early) await this.heldDone();
    }
  }

  /** A sentence the held job wrote after the barge-in: part of what is left to say. */
  private async moreText(text: string): Promise<void> {
    const p = this.pending;
    if (!p) return;
    if (!p.settled) return void p.sentences.push({ text, ms: 0 });
    const turn = p.resumedTurn;
    if (!turn || this.st.active !== turn || !turn.emitter) return;
    const seq = turn.sentences.length;
    turn.sentences.push({ text, bytes: 0 });
    this.st.sendAll(turn.emitter.transcriptDelta((seq > 0 ? ' ' : '') + text));
    await this.speak(turn, seq, text);
  }

  /** The held job has written the whole answer: the resumed response knows its end, history its text. */
  private async heldDone(): Promise<void> {
    const p = this.pending;
    const turn = p?.resumedTurn;
    if (!p || !turn) return; // not resumed yet: resume() sees it is done
    await this.saveAnswer(p, turn);
    if (this.st.active === turn) {
      // Through the output stream, so the response ends (output.ts) once its last audio is out.
      await this.st.s.output.write(this.st.callId, { kind: 'text_done', turn_id: turn.id, text: '', sentences: turn.sentences.length });
    }
    await this.cancelHeld(); // its own TTS jobs are not needed
  }

  onSpeechStarted(): void {
    if (!this.watching) return;
    this.pending!.speaking = true;
    this.clearTimer();
  }

  /** The interrupting speech became a turn: transcribed, answered only if it has words. */
  addProbe(turn: Turn, userItemId: string): void {
    this.probes.set(turn.id, { turn, userItemId });
    this.speechEnded();
  }

  /** The speech in progress will not become a turn (input_audio_buffer.clear): no words from it. */
  onSpeechDropped(): void {
    if (this.watching && this.pending!.speaking) this.speechEnded();
  }

  /** The caller's speech ended: the decision is due within timeout_ms. */
  private speechEnded(): void {
    const p = this.pending!;
    p.speaking = false;
    this.clearTimer();
    p.timer = setTimeout(() => {
      p.timer = null;
      if (this.pending === p && !p.settled && !p.speaking) void this.resume(p, 'timeout').catch((err) => this.warn(err));
    }, this.settings.timeoutMs);
    p.timer.unref?.();
  }

  /** A probe turn's transcript (null: transcription failed). Call after the client got it. */
  async onTranscript(turnId: string, text: string | null): Promise<void> {
    const probe = this.probes.get(turnId);
    if (!probe) return;
    this.probes.delete(turnId);
    const p = this.pending;
    const reason: ResumeReason | null = text === null ? 'transcription_failed' : falseInterruptionReason(text, this.settings.backchannels);
    if (!reason) return this.answer(probe, p);
    // Not a turn: the model never sees it (the resumed answer goes on as if it were not there).
    await this.st.s.calls.rewriteHistoryItem(this.st.callId, probe.userItemId, null);
    if (p && this.pending === p && !p.settled && !p.speaking && this.probes.size === 0) await this.resume(p, reason);
  }

  /** Words: a real interruption. Stop a resumed answer if one started, and answer the probe. */
  private async answer(probe: Probe, p: Pending | null): Promise<void> {
    const { st } = this;
    if (p && this.pending === p) {
      this.clearTimer();
      p.settled = true;
      await this.cancelHeld();
      if (p.resumedTurn) await this.interrupt(p.resumedTurn);
    }
    if (st.active || st.closed) return; // something else answers now (a client's response.create)
    st.turns.set(probe.turn.id, probe.turn);
    st.setActive(probe.turn);
    await st.queueLlm(probe.turn);
  }

  /** Speaks the unheard rest of the answer as a new response, with no LLM request. */
  private async resume(p: Pending, reason: ResumeReason): Promise<void> {
    const { st } = this;
    this.clearTimer();
    p.settled = true;
    const plan = resumePlan(p.sentences, p.heardMs);
    // The conversation has moved on, or there is nothing left to say.
    if (st.closed || st.active || (plan.rest.length === 0 && !this.heldWriting)) return this.cancelHeld();
    const { origin } = p;
    const turn = st.newTurn();
    turn.modalities = p.modalities;
    turn.sentences = plan.rest.map((text) => ({ text, bytes: 0 }));
    // A held LLM still writing: the end comes with its text_done (heldDone).
    turn.totalSentences = this.heldWriting ? null : plan.rest.length;
    st.setActive(turn);
    p.resumedTurn = turn;
    st.heard.markResumed(turn.assistantItemId, { ...origin, prefix: joinAnswer(origin.prefix, plan.heard) });
    // The response opens before anything is awaited, so a held LLM's next sentence finds it (moreText).
    const emitter = st.openResponse(turn);
    st.sendAll(emitter.beginMessage(turn.assistantItemId));
    const text = plan.rest.join(' ');
    // Later sentences of a held LLM follow (moreText).
    if (text) st.sendAll(emitter.transcriptDelta(text));
    turn.textSent = text.length;
    await st.s.stageLog.write({
      call_id: st.callId,
      turn_id: turn.id,
      stage: 'gateway',
      event: 'resumed',
      data: { resumed_from_ms: plan.resumedFromMs, reason, resumed_turn_id: origin.turnId, sentences: plan.rest.length },
    });
    for (const [seq, sentence] of plan.rest.entries()) await this.speak(turn, seq, sentence);
    await this.saveAnswer(p, turn);
    if (this.held?.done) await this.cancelHeld();
  }

  /**
   * History's one assistant message for the answer: what was heard before the resumed response and
   * all it says (so far). Writes run one after another, each with the text as it then stands.
   */
  private saveAnswer(p: Pending, turn: Turn): Promise<void> {
    const write = async () => {
      const prefix = this.st.heard.originOf(turn.assistantItemId, turn.id).prefix;
      await this.st.heard.writeAnswer(p.origin, joinAnswer(prefix, ...turn.sentences.map((x) => x.text)));
    };
    this.answerWrites = this.answerWrites.then(write, write);
    return this.answerWrites;
  }

  /** One sentence of a resumed response to the TTS stage; its audio comes back as any answer's does (output.ts). */
  private async speak(turn: Turn, seq: number, text: string): Promise<void> {
    const { st } = this;
    const job: TtsJob = { call_id: st.callId, turn_id: turn.id, response_id: turn.responseId, assistant_item_id: turn.assistantItemId, seq, text };
    await st.s.queues.tts.add('tts', job, { jobId: jobId(st.callId, turn.id, 'tts', seq) });
  }

  private async cancelHeld(): Promise<void> {
    const held = this.held;
    this.held = null;
    if (held) await this.st.s.cancel.cancel(this.st.callId, held.turnId);
  }

  async close(): Promise<void> {
    this.clearTimer();
    this.pending = null;
    this.probes.clear();
    await this.cancelHeld();
  }

  private clearTimer(): void {
    if (this.pending?.timer) clearTimeout(this.pending.timer);
    if (this.pending) this.pending.timer = null;
  }

  private warn(err: unknown): void {
    this.st.s.log.warn({ call_id: this.st.callId, err: (err as Error).message }, 'false-interruption resume failed');
  }
}
