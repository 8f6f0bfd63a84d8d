/**
 * Chained mode for one connected call: the gateway's VAD finds turns, the utterance goes through
 * Redis to the STT → LLM → TTS workers, and their output (a per-call Redis stream) becomes the
 * same Realtime events OpenAI would send. Barge-in cancels the turn everywhere and truncates the
 * history to what was heard.
 */
import type { Business } from '../../contracts/business';
import type { CallRecord } from '../../contracts/call';
import type { EarlySttJob, LlmJob, SttJob } from '../../contracts/jobs';
import type { StageOutput } from '../../contracts/output';
import type { ClientEvent, ClientEventOf, RealtimeSession } from '../../contracts/realtime';
import { SessionPatch, type Session } from '../../contracts/session';
import { InputDecoder, OutputEncoder } from '../../core/audio/formats';
import { pcm16ToBytes } from '../../core/audio/pcm';
import { inputEvents, newId, ResponseEmitter } from '../../core/protocol';
import { playedMs } from '../../core/truncate';
import { TurnDetector, type TurnEvent } from '../../core/vad/turn-detector';
import { jobId } from '../../adapters/queues';
import { OutputReader } from '../../adapters/output-reader';
import type { OutputRecord } from '../../adapters/output-stream';
import { clientResultKey } from '../../tools/executor';
import { ApiError } from '../../errors';
import { overrideSession } from '../../gateway/call-factory';
import type { Services } from '../../gateway/services';
import { carryOutCallAction, type CallDriver, type DriverHost } from '../driver';
import { HeardHistory, totalAudioMs } from './heard-history';
import { createTurn, sentMs, spokenSentences, vadOptions, type Turn } from './turn';

export class ChainedCall implements CallDriver {
  private session: Session;
  private decoder: InputDecoder;
  private encoder: OutputEncoder;
  private readonly detector: TurnDetector;
  private reader: OutputReader | null = null;
  private readonly turns = new Map<string, Turn>();
  /** The turn whose response is playing or being produced. */
  private active: Turn | null = null;
  private lastItemId: string | null = null;
  private speechItemId: string | null = null;
  private readonly conversationId = newId('conv');
  private readonly heard: HeardHistory;
  /** VAD events are handled one after another, so a quick interruption sees the turn just committed. */
  private turnEvents: Promise<void> = Promise.resolve();
  /** The early transcription of the turn in progress, if one was started (business.early_transcription_ms). */
  private early: EarlyTranscription | null = null;
  private closed = false;

  /** Speech that starts a turn or interrupts the agent (business.interruption). */
  private get minSpeechMs(): number {
    return this.business.interruption?.min_speech_ms ?? 200;
  }

  constructor(
    private readonly s: Services,
    private readonly call: CallRecord,
    private readonly business: Business,
    private readonly host: DriverHost,
  ) {
    this.session = call.session;
    this.decoder = new InputDecoder(this.session.input_audio_format, 16_000);
    this.encoder = new OutputEncoder(this.session.output_audio_format, 24_000);
    this.detector = new TurnDetector(vadOptions(this.session, this.minSpeechMs));
    this.heard = new HeardHistory(s, call.id);
  }

  async start(): Promise<void> {
    const key = this.s.keys.callOutput(this.call.id);
    const from = await this.s.output.tail(this.call.id);
    this.reader = new OutputReader(
      this.s.redis,
      key,
      from,
      (r) => this.onOutput(r),
      (err) => this.s.log.warn({ call_id: this.call.id, err: err.message }, 'output stream read failed'),
    );
    this.reader.start();
    this.host.send(inputEvents.sessionCreated(this.wireSession()));
    this.host.send(inputEvents.conversationCreated(this.conversationId));
  }

  async close(reason: string): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.active) await this.cancelTurn(this.active, 'client_cancelled', reason);
    await this.reader?.stop();
  }

  // ------------------------------------------------------------------ audio in

  settled(): Promise<void> {
    return this.turnEvents;
  }

  onAudio(bytes: Uint8Array): void {
    if (this.closed) return;
    const pcm = this.decoder.push(bytes);
    if (pcm.length === 0) return;
    for (const e of this.detector.push(pcm)) {
      const early = e.type === 'speech_stopped' ? this.takeEarly(e.speechEndMs) : null;
      this.turnEvents = this.turnEvents.then(() => this.onTurnEvent(e, early)).catch((err) => this.fail(err));
    }
    this.transcribeEarlyOnPause();
  }

  /**
   * The caller has paused for early_transcription_ms in a turn: transcribe what was said so far
   * now, while silence_duration_ms runs out. Speech after that makes it stale; the next pause
   * starts another.
   */
  private transcribeEarlyOnPause(): void {
    const after = this.business.early_transcription_ms;
    const speechEnd = this.detector.speechEndMs;
    if (after == null || speechEnd === null) return;
    if (this.early && this.early.speechEndMs !== speechEnd) this.early = null;
    if (this.early || this.detector.currentMs - speechEnd < after) return;
    const early: EarlyTranscription = { id: newId('event').replace('event_', 'early_'), speechEndMs: speechEnd, failed: false };
    this.early = early;
    const audio = this.detector.turnAudio();
    this.turnEvents = this.turnEvents.then(() => this.enqueueEarly(early, audio));
  }

  private async enqueueEarly(early: EarlyTranscription, audio: Int16Array): Promise<void> {
    try {
      await this.s.redis.set(this.s.keys.callAudio(this.call.id, early.id), pcm16ToBytes(audio), 'EX', 600);
      const job: EarlySttJob = { call_id: this.call.id, early_id: early.id, audio_ms: Math.round(audio.length / 16) };
      await this.s.queues.stt.add('early', job, { jobId: jobId(this.call.id, early.id, 'stt') });
    } catch (err) {
      early.failed = true; // the turn's STT job transcribes by itself
      this.s.log.warn({ call_id: this.call.id, err: (err as Error).message }, 'early transcription not started');
    }
  }

  /** The early transcription that covers the turn just ended (no speech after it began), if any. */
  private takeEarly(speechEndMs: number): EarlyTranscription | null {
    const early = this.early;
    this.early = null;
    return early && early.speechEndMs === speechEndMs ? early : null;
  }

  private async onTurnEvent(e: TurnEvent, early: EarlyTranscription | null): Promise<void> {
    if (e.type === 'speech_started') {
      this.speechItemId = newId('item');
      this.host.send(inputEvents.speechStarted({ audio_start_ms: e.audioStartMs, item_id: this.speechItemId }));
      const td = this.session.turn_detection;
      if (td?.interrupt_response ?? true) {
        if (this.active) await this.cancelTurn(this.active, 'turn_detected', 'barge-in');
        else await this.truncatePlaying();
      }
      return;
    }
    const itemId = this.speechItemId ?? newId('item');
    this.speechItemId = null;
    this.host.send(inputEvents.speechStopped({ audio_end_ms: e.audioEndMs, item_id: itemId }));
    await this.commitAudio(e.audio, itemId, this.session.turn_detection?.create_response ?? true, e.audioEndMs, early && !early.failed ? early.id : undefined);
  }

  /** A finished utterance: the user item, then the STT job (which chains to the LLM when `respond`). */
  private async commitAudio(audio: Int16Array, itemId: string, respond: boolean, vadEndMs?: number, earlyId?: string): Promise<void> {
    const turn = this.newTurn();
    const audioMs = Math.round(audio.length / 16);
    // The end of speech as the VAD (or a manual commit) saw it: the start of the turn's waterfall.
    await this.s.stageLog.write({
      call_id: this.call.id,
      turn_id: turn.id,
      stage: 'vad',
      event: 'completed',
      data: { audio_ms: audioMs, ...(vadEndMs !== undefined ? { audio_end_ms: vadEndMs } : { manual_commit: true }) },
    });
    this.host.send(inputEvents.committed({ previous_item_id: this.lastItemId, item_id: itemId }));
    const item = inputEvents.userAudioItem(itemId);
    this.host.send(inputEvents.itemCreated(item, this.lastItemId));
    this.host.send(inputEvents.itemDone(item, this.lastItemId));
    this.lastItemId = itemId;
    if (respond) this.setActive(turn);
    else this.awaitingTranscript.add(turn.id);
    const audioKey = this.s.keys.callAudio(this.call.id, turn.id);
    await this.s.redis.set(audioKey, pcm16ToBytes(audio), 'EX', 600);
    const job: SttJob = {
      call_id: this.call.id,
      turn_id: turn.id,
      response_id: turn.responseId,
      assistant_item_id: turn.assistantItemId,
      user_item_id: itemId,
      audio_ms: audioMs,
      respond,
      ...(earlyId ? { early_id: earlyId } : {}),
    };
    await this.s.queues.stt.add('stt', job, { jobId: jobId(this.call.id, turn.id, 'stt') });
    await this.s.stageLog.write({ call_id: this.call.id, turn_id: turn.id, stage: 'stt', event: 'queued', data: { audio_ms: job.audio_ms } });
  }

  private newTurn(): Turn {
    const turn = createTurn(this.session.modalities);
    this.turns.set(turn.id, turn);
    return turn;
  }

  private setActive(turn: Turn) {
    turn.responding = true;
    this.active = turn;
  }

  // ------------------------------------------------------------------ client events

  async onClientEvent(e: ClientEvent): Promise<void> {
    switch (e.type) {
      case 'session.update':
        return this.updateSession(e);
      case 'input_audio_buffer.append':
        return this.onAudio(Buffer.from(e.audio, 'base64'));
      case 'input_audio_buffer.commit': {
        const c = this.detector.commit();
        if (!c || c.audio.length === 0) return this.error('input_audio_buffer_commit_empty', 'Error committing input audio buffer: the buffer is empty.', e.event_id);
        return this.commitAudio(c.audio, this.speechItemId ?? newId('item'), false);
      }
      case 'input_audio_buffer.clear':
        this.detector.clear();
        return this.host.send(inputEvents.cleared());
      case 'conversation.item.create':
        return this.createItem(e);
      case 'conversation.item.truncate':
        return this.truncateItem(e.item_id, e.audio_end_ms, e.event_id);
      case 'response.create':
        return this.createResponse(e);
      case 'response.cancel':
        if (!this.active || !this.active.responding) return this.error('response_cancel_not_active', 'Cancellation failed: no active response found.', e.event_id);
        return this.cancelTurn(this.active, 'client_cancelled', 'response.cancel');
      case 'response.interrupt': {
        if (!this.active) return this.error('response_cancel_not_active', 'Interrupt failed: no active response found.', e.event_id);
        return this.cancelTurn(this.active, 'client_cancelled', 'response.interrupt', e.audio_end_ms);
      }
      default:
        return this.error('unsupported_event', `'${e.type}' is not supported in chained mode.`, e.event_id);
    }
  }

  private async updateSession(e: ClientEventOf<'session.update'>): Promise<void> {
    const parsed = SessionPatch.safeParse(e.session);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      const param = ['session', ...issue.path].join('.');
      return this.error('invalid_value', `Invalid '${param}': ${issue.message}`, e.event_id, param);
    }
    // The model is fixed for a call, as in OpenAI's API; clients often resend it unchanged.
    const { model: _model, ...patch } = parsed.data;
    let next: Session;
    try {
      next = overrideSession(this.business, this.session, patch, this.s.config.extraVoices);
    } catch (err) {
      if (err instanceof ApiError) return this.error(err.code, err.message, e.event_id, err.param ?? undefined);
      throw err;
    }
    const before = this.session;
    this.session = next;
    if (next.input_audio_format !== before.input_audio_format) this.decoder = new InputDecoder(next.input_audio_format, 16_000);
    if (next.output_audio_format !== before.output_audio_format) this.encoder = new OutputEncoder(next.output_audio_format, 24_000);
    if (JSON.stringify(next.turn_detection) !== JSON.stringify(before.turn_detection)) this.detector.updateOptions(vadOptions(next, this.minSpeechMs));
    await this.s.calls.updateSession(this.call.id, next);
    this.host.send(inputEvents.sessionUpdated(this.wireSession()));
  }

  private async createItem(e: ClientEventOf<'conversation.item.create'>): Promise<void> {
    const item = e.item;
    const itemId = item.id ?? newId('item');
    const prev = this.lastItemId;
    if (item.type === 'function_call_output') {
      // A client-side tool's answer: the LLM worker waiting for it continues the same response.
      const key = clientResultKey(this.s.keys, this.call.id, item.call_id);
      await this.s.redis.multi().rpush(key, item.output).expire(key, 600).exec();
    } else if (item.type === 'message') {
      const text = item.content
        .map((p) => ('text' in p && typeof p.text === 'string' ? p.text : 'transcript' in p && typeof p.transcript === 'string' ? p.transcript : ''))
        .join(' ')
        .trim();
      if (item.content.some((p) => p.type === 'input_audio')) {
        return this.error('unsupported_content', 'input_audio content in conversation.item.create is not supported in chained mode; stream audio with input_audio_buffer.append.', e.event_id, 'item.content');
      }
      await this.s.calls.appendHistoryOnce(this.call.id, `item:${itemId}`, [
        { item_id: itemId, turn_id: 'client', message: { role: item.role, content: text } },
      ]);
      if (item.role !== 'system') await this.s.calls.appendTranscript(this.call.id, { ts: Date.now(), role: item.role, turn_id: 'client', text });
    } else {
      return this.error('unsupported_item', `Items of type '${item.type}' cannot be created in chained mode.`, e.event_id, 'item.type');
    }
    this.lastItemId = itemId;
    const created = { ...item, id: itemId, object: 'realtime.item' as const, status: 'completed' as const };
    this.host.send(inputEvents.itemCreated(created as never, prev));
    this.host.send(inputEvents.itemDone(created as never, prev));
  }

  private async createResponse(e: ClientEventOf<'response.create'>): Promise<void> {
    if (this.active?.responding) {
      // After a client tool's function_call_output, OpenAI's clients send response.create; here the
      // response continues by itself, so that request is already satisfied.
      if (this.active.hadClientTool) return;
      return this.error('conversation_already_has_active_response', 'Conversation already has an active response in progress.', e.event_id);
    }
    const r = e.response ?? {};
    // A manual commit whose transcript is not in yet: respond when it arrives.
    const waitingId = [...this.awaitingTranscript].pop();
    const turn = (waitingId && this.turns.get(waitingId)) || this.newTurn();
    turn.modalities = (r.modalities as ('audio' | 'text')[] | undefined) ?? this.session.modalities;
    this.setActive(turn);
    turn.overrides = {
      ...(r.instructions !== undefined ? { instructions: r.instructions } : {}),
      ...(r.temperature !== undefined ? { temperature: r.temperature } : {}),
      ...(r.modalities !== undefined ? { modalities: turn.modalities } : {}),
      ...(r.max_response_output_tokens !== undefined ? { max_output_tokens: r.max_response_output_tokens } : {}),
    };
    if (waitingId) turn.respondOnTranscript = true;
    else await this.enqueueLlm(turn);
  }

  /** Manual commits whose transcript has not arrived yet. */
  private readonly awaitingTranscript = new Set<string>();

  private async enqueueLlm(turn: Turn): Promise<void> {
    const overrides = turn.overrides;
    const job: LlmJob = {
      call_id: this.call.id,
      turn_id: turn.id,
      response_id: turn.responseId,
      assistant_item_id: turn.assistantItemId,
      ...(overrides && Object.keys(overrides).length ? { overrides } : {}),
    };
    await this.s.queues.llm.add('llm', job, { jobId: jobId(this.call.id, turn.id, 'llm') });
    await this.s.stageLog.write({ call_id: this.call.id, turn_id: turn.id, stage: 'llm', event: 'queued' });
  }

  // ------------------------------------------------------------------ worker output

  private async onOutput(r: OutputRecord): Promise<void> {
    const o = r.out;
    const turn = this.turns.get(o.turn_id);
    if (!turn) return; // another connection's turn (or one from before a reconnect)
    switch (o.kind) {
      case 'transcript':
        this.awaitingTranscript.delete(turn.id);
        this.host.send(inputEvents.transcriptionCompleted({ item_id: o.item_id, transcript: o.text }));
        if (turn.respondOnTranscript && !turn.cancelled) {
          turn.respondOnTranscript = false;
          await this.enqueueLlm(turn);
        } else if (!turn.responding) {
          this.turns.delete(turn.id); // a manual commit nobody asked a response for (yet)
        }
        return;
      case 'transcript_failed':
        this.awaitingTranscript.delete(turn.id);
        // A response waiting for this transcript cannot start: free the turn so the next one can.
        if (!turn.responding || turn.respondOnTranscript) this.retire(turn);
        this.host.send(inputEvents.transcriptionFailed({ item_id: o.item_id, error: { type: 'transcription_error', message: o.error } }));
        return;
      default:
        if (turn.cancelled) return; // output of a cancelled turn never reaches the client
        return this.onResponseOutput(turn, o, r.audio);
    }
  }

  private async onResponseOutput(turn: Turn, o: StageOutput, audio: Buffer | undefined): Promise<void> {
    switch (o.kind) {
      case 'response_started': {
        if (turn.emitter) return; // a redelivered LLM job
        turn.emitter = new ResponseEmitter({
          responseId: turn.responseId,
          conversationId: this.conversationId,
          modalities: turn.modalities,
          previousItemId: this.lastItemId,
          voice: this.session.voice,
          outputAudioFormat: this.session.output_audio_format,
        });
        return this.sendAll(turn.emitter.created());
      }
      case 'text_delta': {
        const em = this.emitterOf(turn);
        const end = o.offset + o.text.length;
        if (end <= turn.textSent) return;
        const piece = o.offset < turn.textSent ? o.text.slice(turn.textSent - o.offset) : o.text;
        turn.textSent = end;
        if (!em.openMessageItemId) this.sendAll(em.beginMessage(turn.assistantItemId));
        return this.sendAll(em.transcriptDelta(piece));
      }
      case 'sentence':
        turn.sentences[o.seq] = { text: o.text, bytes: turn.sentences[o.seq]?.bytes ?? 0 };
        return;
      case 'function_call': {
        const em = this.emitterOf(turn);
        const handler = this.business.tool_handlers[o.name];
        if (handler?.type === 'client') turn.hadClientTool = true;
        this.sendAll(em.beginFunctionCall(o.call_id, o.name, o.item_id));
        this.sendAll(em.argumentsDelta(o.call_id, o.arguments));
        return this.sendAll(em.endFunctionCall(o.call_id, o.arguments));
      }
      case 'function_call_output':
        this.host.send(
          inputEvents.functionCallDone({ call_id: o.call_id, name: o.name, arguments: o.arguments, output: o.output, duration_ms: o.duration_ms, response_id: turn.responseId, item_id: o.item_id }),
        );
        return;
      case 'audio': {
        if (!audio) return;
        const s = turn.sentences[o.seq];
        if (s) s.bytes = Math.max(s.bytes, o.offset + audio.length);
        else turn.sentences[o.seq] = { text: '', bytes: o.offset + audio.length };
        for (const chunk of turn.playout.push(o.seq, o.offset, audio)) this.sendAudio(turn, chunk);
        return;
      }
      case 'audio_done': {
        // No audio could be made: the client still gets the words, as text in the error.
        if (o.error) this.error('tts_failed', `Could not speak: "${turn.sentences[o.seq]?.text ?? ''}" (${o.error})`, undefined, undefined, 'server_error');
        for (const chunk of turn.playout.finish(o.seq)) this.sendAudio(turn, chunk);
        return this.maybeFinish(turn);
      }
      case 'text_done':
        turn.totalSentences = o.sentences;
        turn.usage = o.usage;
        return this.maybeFinish(turn);
      case 'call_action':
        turn.action = { action: o.action, reason: o.reason };
        return;
      case 'turn_failed':
        this.error('turn_failed', `The ${o.stage} stage failed: ${o.error}`, undefined, undefined, 'server_error');
        if (!o.fallback_text && !turn.emitter) this.retire(turn);
        return;
    }
  }

  private emitterOf(turn: Turn): ResponseEmitter {
    if (!turn.emitter) {
      // Output can only follow response_started; if a record raced ahead, open the response now.
      turn.emitter = new ResponseEmitter({ responseId: turn.responseId, conversationId: this.conversationId, modalities: turn.modalities, previousItemId: this.lastItemId });
      this.sendAll(turn.emitter.created());
    }
    return turn.emitter;
  }

  private sendAudio(turn: Turn, chunk: Uint8Array) {
    if (!turn.modalities.includes('audio')) return;
    const em = this.emitterOf(turn);
    if (!em.openMessageItemId) this.sendAll(em.beginMessage(turn.assistantItemId));
    const pcm = new Int16Array(chunk.buffer.slice(chunk.byteOffset, chunk.byteOffset + chunk.byteLength));
    const out = this.encoder.push(pcm);
    if (out.length === 0) return;
    if (turn.firstAudioAt === null) {
      turn.firstAudioAt = Date.now();
      void this.s.stageLog.write({ call_id: this.call.id, turn_id: turn.id, stage: 'gateway', event: 'first_output', duration_ms: turn.firstAudioAt - turn.committedAt });
    }
    turn.audioBytesSent += chunk.byteLength;
    this.sendAll(em.audioDelta(Buffer.from(out.buffer, out.byteOffset, out.byteLength).toString('base64')));
  }

  private async maybeFinish(turn: Turn): Promise<void> {
    if (turn.totalSentences === null || turn.cancelled || !turn.emitter || turn.emitter.isDone) return;
    const speaking = turn.modalities.includes('audio');
    if (speaking && !turn.playout.complete(turn.totalSentences)) return;
    this.sendAll(turn.emitter.done('completed', {}, turn.usage ?? null));
    this.lastItemId = turn.emitter.lastItemId;
    await this.s.stageLog.write({
      call_id: this.call.id,
      turn_id: turn.id,
      stage: 'gateway',
      event: 'completed',
      duration_ms: Date.now() - turn.committedAt,
      data: { audio_ms: Math.round(sentMs(turn)), sentences: turn.totalSentences },
    });
    this.retire(turn);
    if (turn.action) this.carryOut(turn);
  }

  /** end_call / transfer_to_human, once the answer has played (audio is sent ahead of real time). */
  private carryOut(turn: Turn) {
    const { action, reason } = turn.action!;
    const sent = sentMs(turn);
    const remainingMs = Math.max(0, sent - playedMs(sent, turn.firstAudioAt, Date.now()));
    void this.s.stageLog.write({ call_id: this.call.id, turn_id: turn.id, stage: 'gateway', event: 'completed', data: { call_action: action, reason: reason ?? null, after_ms: Math.round(remainingMs) } });
    carryOutCallAction(this.host, action, reason, remainingMs, () => this.closed);
  }

  private retire(turn: Turn) {
    turn.responding = false;
    if (this.active === turn) this.active = null;
    this.turns.delete(turn.id);
    this.heard.remember(turn);
  }

  // ------------------------------------------------------------------ barge-in and truncation

  /**
   * Cancels a turn everywhere: the Redis mark and pub/sub stop the workers, the client gets the
   * closing events and response.done(cancelled), and history keeps only what was heard.
   */
  private async cancelTurn(turn: Turn, reason: 'turn_detected' | 'client_cancelled', why: string, clientPlayedMs?: number): Promise<void> {
    if (turn.cancelled) return;
    const started = Date.now();
    turn.cancelled = true;
    await this.s.cancel.cancel(this.call.id, turn.id);
    const sent = sentMs(turn);
    const heardMs = clientPlayedMs !== undefined ? Math.min(clientPlayedMs, sent) : playedMs(sent, turn.firstAudioAt, Date.now());
    if (turn.emitter && !turn.emitter.isDone) {
      this.sendAll(turn.emitter.done('cancelled', { reason }));
      this.lastItemId = turn.emitter.lastItemId;
    }
    await this.heard.cutTurn(turn, heardMs);
    await this.s.stageLog.write({
      call_id: this.call.id,
      turn_id: turn.id,
      stage: 'gateway',
      event: 'cancelled',
      duration_ms: Date.now() - started,
      data: { reason, trigger: why, played_ms: Math.round(heardMs), sent_ms: Math.round(sent) },
    });
    this.retire(turn);
  }

  /** Barge-in while the client still plays an answer that was fully sent: history keeps what was heard. */
  private async truncatePlaying(): Promise<void> {
    const cut = await this.heard.cutPlaying();
    if (!cut) return;
    await this.s.stageLog.write({
      call_id: this.call.id,
      turn_id: cut.turnId,
      stage: 'gateway',
      event: 'cancelled',
      data: { reason: 'turn_detected', trigger: 'barge-in during playback', played_ms: Math.round(cut.heardMs), sent_ms: Math.round(cut.totalMs) },
    });
  }

  /** conversation.item.truncate: the client says how much of an assistant item it played. */
  private async truncateItem(itemId: string, audioEndMs: number, eventId?: string): Promise<void> {
    const live = [...this.turns.values()].find((t) => t.assistantItemId === itemId);
    const item = live ? { sentences: spokenSentences(live), turnId: live.id } : this.heard.get(itemId);
    if (!item) return this.error('item_not_found', `No assistant item '${itemId}' with audio in this call.`, eventId, 'item_id');
    const totalMs = totalAudioMs(item.sentences);
    if (audioEndMs > totalMs + 1) {
      return this.error('invalid_value', `audio_end_ms ${audioEndMs} is past the end of the item's audio (${Math.round(totalMs)} ms).`, eventId, 'audio_end_ms');
    }
    if (live) await this.cancelTurn(live, 'client_cancelled', 'conversation.item.truncate', audioEndMs);
    await this.heard.cutItem(itemId, item, audioEndMs);
    this.host.send(inputEvents.truncated({ item_id: itemId, content_index: 0, audio_end_ms: audioEndMs }));
  }

  // ------------------------------------------------------------------ helpers

  private wireSession(): RealtimeSession {
    const { model, ...rest } = this.session;
    return { id: this.call.id.replace('call_', 'sess_'), object: 'realtime.session', model, ...rest } as RealtimeSession;
  }

  private sendAll(events: readonly Parameters<DriverHost['send']>[0][]) {
    for (const e of events) this.host.send(e);
  }

  private error(code: string, message: string, eventId?: string, param?: string, type = 'invalid_request_error') {
    this.host.send(inputEvents.error({ type, code, message, ...(param ? { param } : {}), ...(eventId ? { event_id: eventId } : {}) }));
  }

  private fail(err: unknown) {
    this.s.log.error({ call_id: this.call.id, err: (err as Error).message }, 'chained call error');
    this.error('server_error', 'Internal error handling audio; the call goes on.', undefined, undefined, 'server_error');
  }
}

interface EarlyTranscription {
  id: string;
  /** Where the turn's speech had ended when it started (session ms). */
  speechEndMs: number;
  failed: boolean;
}
