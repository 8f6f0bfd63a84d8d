/**
 * The caller's audio in chained mode: decoded to PCM16 16 kHz, turns found by the VAD, a turn
 * transcribed early during the caller's pause (business.early_transcription_ms), and each finished
 * utterance committed: the user item to the client, the audio to Redis, the STT job (which chains
 * to the LLM when the turn responds).
 */
import type { SttJob } from '../../contracts/jobs';
import type { Session } from '../../contracts/session';
import { InputDecoder } from '../../core/audio/formats';
import { serverEvents, newId } from '../../core/protocol';
import { TurnDetector, type TurnEvent } from '../../core/vad/turn-detector';
import type { BargeIn } from './barge-in';
import type { ChainedState } from './call-state';
import { vadOptions } from './turn';

interface EarlyTranscription {
  id: string;
  /** Where the turn's speech had ended when it started (session ms). */
  speechEndMs: number;
  failed: boolean;
}

export class ChainedInput {
  private decoder: InputDecoder;
  private readonly detector: TurnDetector;
  /** The item of the speech in progress (speech_started's item_id is the committed item's). */
  private speechItemId: string | null = null;
  /** VAD events are handled one after another, so a quick interruption sees the turn just committed. */
  private turnEvents: Promise<void> = Promise.resolve();
  /** The early transcription of the turn in progress, if one was started. */
  private early: EarlyTranscription | null = null;

  constructor(
    private readonly st: ChainedState,
    private readonly bargeIn: BargeIn,
    private readonly fail: (err: unknown) => void,
  ) {
    this.decoder = new InputDecoder(st.session.input_audio_format, 16_000);
    this.detector = new TurnDetector(vadOptions(st.session, st.minSpeechMs));
  }

  /** The session changed: a new input format, new turn detection. */
  sessionChanged(next: Session, before: Session): void {
    if (next.input_audio_format !== before.input_audio_format) this.decoder = new InputDecoder(next.input_audio_format, 16_000);
    if (JSON.stringify(next.turn_detection) !== JSON.stringify(before.turn_detection)) this.detector.updateOptions(vadOptions(next, this.st.minSpeechMs));
  }

  /** Resolves once the VAD events of the audio pushed so far have been handled (and sent). */
  settled(): Promise<void> {
    return this.turnEvents;
  }

  push(bytes: Uint8Array): void {
    if (this.st.closed) return;
    // A view the next push overwrites (no allocation per chunk): safe because the detector copies it
    // into its ring and nothing else here keeps it; early transcription and turns read the ring.
    const pcm = this.decoder.pushView(bytes);
    if (pcm.length === 0) return;
    const events = this.detector.push(pcm);
    // Indexed, not for…of: an iterator per 20 ms chunk is garbage on the hottest path.
    for (let i = 0; i < events.length; i++) {
      const e = events[i]!;
      const early = e.type === 'speech_stopped' ? this.takeEarly(e.speechEndMs) : null;
      this.turnEvents = this.turnEvents.then(() => this.onTurnEvent(e, early)).catch((err) => this.fail(err));
    }
    this.transcribeEarlyOnPause();
  }

  /** input_audio_buffer.commit: the buffered audio as a turn that waits for response.create. */
  async commit(eventId?: string): Promise<void> {
    const c = this.detector.commit();
    if (!c || c.audio.length === 0) return this.st.error('input_audio_buffer_commit_empty', 'Error committing input audio buffer: the buffer is empty.', eventId);
    return this.commitAudio(c.audio, this.speechItemId ?? newId('item'), false);
  }

  clear(): void {
    this.detector.clear();
    this.bargeIn.falseInterruptions.onSpeechDropped();
    this.st.send(serverEvents.cleared());
  }

  /**
   * The caller has paused for early_transcription_ms in a turn: transcribe what was said so far
   * now, while silence_duration_ms runs out. Speech after that makes it stale; the next pause
   * starts another.
   */
  private transcribeEarlyOnPause(): void {
    const after = this.st.business.early_transcription_ms;
    const speechEnd = this.detector.speechEndMs;
    if (after == null || speechEnd === null) return;
    if (this.early && this.early.speechEndMs !== speechEnd) this.early = null;
    if (this.early || this.detector.currentMs - speechEnd < after) return;
    const early: EarlyTranscription = { id: newId('event').replace('event_', 'early_'), speechEndMs: speechEnd, failed: false };
    this.early = early;
    const audio = this.detector.turnAudio();
    this.turnEvents = this.turnEvents.then(() => this.startEarly(early, audio));
  }

  private async startEarly(early: EarlyTranscription, audio: Int16Array): Promise<void> {
    const callId = this.st.callId;
    try {
      await this.st.utterances.put(callId, early.id, audio);
      await this.st.jobs.earlyStt({ call_id: callId, early_id: early.id, audio_ms: Math.round(audio.length / 16) });
    } catch (err) {
      early.failed = true; // the turn's STT job transcribes by itself
      this.st.s.log.warn({ call_id: callId, err: (err as Error).message }, 'early transcription not started');
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
      this.st.send(serverEvents.speechStarted({ audio_start_ms: e.audioStartMs, item_id: this.speechItemId }));
      return this.bargeIn.onSpeechStarted();
    }
    const itemId = this.speechItemId ?? newId('item');
    this.speechItemId = null;
    this.st.send(serverEvents.speechStopped({ audio_end_ms: e.audioEndMs, item_id: itemId }));
    const respond = this.st.session.turn_detection?.create_response ?? true;
    await this.commitAudio(e.audio, itemId, respond, e.audioEndMs, early && !early.failed ? early.id : undefined);
  }

  /** A finished utterance: the user item, then the STT job (which chains to the LLM when `respond`). */
  private async commitAudio(audio: Int16Array, itemId: string, respond: boolean, vadEndMs?: number, earlyId?: string): Promise<void> {
    const { st } = this;
    const turn = st.newTurn();
    const audioMs = Math.round(audio.length / 16);
    // The end of speech as the VAD (or a manual commit) saw it: the start of the turn's waterfall.
    // Not waited for: the entries of a call are written in order, and the STT job need not wait.
    const logged = st.s.stageLog.write({
      call_id: st.callId,
      turn_id: turn.id,
      stage: 'vad',
      event: 'completed',
      data: { audio_ms: audioMs, ...(vadEndMs !== undefined ? { audio_end_ms: vadEndMs } : { manual_commit: true }) },
    });
    logged.catch(() => {}); // awaited (and rethrown) below, unless the audio could not be stored first
    st.send(serverEvents.committed({ previous_item_id: st.lastItemId, item_id: itemId }));
    const item = serverEvents.userAudioItem(itemId);
    st.send(serverEvents.itemCreated(item, st.lastItemId));
    st.send(serverEvents.itemDone(item, st.lastItemId));
    st.items.add({ ...item, id: itemId }, audio);
    st.lastItemId = itemId;
    // Speech that interrupted an answer: its transcript decides whether it is a turn at all
    // (false-interruptions.ts), so its STT job does not start the LLM by itself.
    const probe = respond && this.bargeIn.falseInterruptions.watching;
    if (probe) this.bargeIn.falseInterruptions.addProbe(turn, itemId);
    else if (respond) st.setActive(turn);
    else st.awaitingTranscript.add(turn.id);
    await st.utterances.put(st.callId, turn.id, audio);
    const job: SttJob = {
      call_id: st.callId,
      turn_id: turn.id,
      response_id: turn.responseId,
      assistant_item_id: turn.assistantItemId,
      user_item_id: itemId,
      audio_ms: audioMs,
      respond: respond && !probe,
      ...(earlyId ? { early_id: earlyId } : {}),
      ...(respond && !probe ? { llm_waiting: true } : {}),
    };
    // The answer's LLM job goes now too and waits for the transcript in its worker: the hand-over
    // from STT to LLM is then a message, not a queue hop (adapters/turn-signals.ts).
    await Promise.all([st.jobs.stt(job), job.llm_waiting ? st.queueLlm(turn, true) : null, logged]);
  }
}
