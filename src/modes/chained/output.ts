/**
 * The workers' output for a chained call (one per-call Redis stream) as the Realtime events OpenAI
 * would send: transcripts, the response's text, tool calls and audio (in sentence order, each byte
 * once across redeliveries, encoded in the session's output format), and the response's end, after
 * which end_call / transfer_to_human are carried out once the answer has played.
 */
import type { StageOutput } from '../../contracts/output';
import type { Session } from '../../contracts/session';
import type { OutputRecord } from '../../adapters/output-stream';
import { OutputEncoder } from '../../core/audio/formats';
import { unplayedMs } from '../../core/played';
import { serverEvents, ResponseEmitter } from '../../core/protocol';
import { toolHandlerFor } from '../../tools/tool-handler';
import { carryOutCallAction } from '../driver';
import type { ChainedState } from './call-state';
import { sentMs, type Turn } from './turn';

export class ResponseOutput {
  private encoder: OutputEncoder;

  constructor(private readonly st: ChainedState) {
    this.encoder = new OutputEncoder(st.session.output_audio_format, 24_000);
  }

  sessionChanged(next: Session, before: Session): void {
    if (next.output_audio_format !== before.output_audio_format) this.encoder = new OutputEncoder(next.output_audio_format, 24_000);
  }

  async onOutput(r: OutputRecord): Promise<void> {
    const { st } = this;
    const o = r.out;
    const turn = st.turns.get(o.turn_id);
    if (!turn) return; // another connection's turn (or one from before a reconnect)
    switch (o.kind) {
      case 'transcript':
        st.awaitingTranscript.delete(turn.id);
        await this.userTranscript(o.item_id, o.text);
        st.send(serverEvents.transcriptionCompleted({ item_id: o.item_id, transcript: o.text }));
        if (turn.respondOnTranscript && !turn.cancelled) {
          turn.respondOnTranscript = false;
          await st.queueLlm(turn);
        } else if (!turn.responding) {
          st.turns.delete(turn.id); // a manual commit nobody asked a response for (yet)
        }
        return;
      case 'transcript_failed':
        st.awaitingTranscript.delete(turn.id);
        // A response waiting for this transcript cannot start: free the turn so the next one can.
        if (!turn.responding || turn.respondOnTranscript) st.retire(turn);
        st.send(serverEvents.transcriptionFailed({ item_id: o.item_id, error: { type: 'transcription_error', message: o.error } }));
        return;
      default:
        if (turn.cancelled) return; // output of a cancelled turn never reaches the client
        return this.onResponseOutput(turn, o, r.audio);
    }
  }

  private async onResponseOutput(turn: Turn, o: StageOutput, audio: Buffer | undefined): Promise<void> {
    const { st } = this;
    switch (o.kind) {
      case 'response_started': {
        if (turn.emitter) return; // a redelivered LLM job
        st.openResponse(turn);
        return;
      }
      case 'text_delta': {
        const em = this.emitterOf(turn);
        const end = o.offset + o.text.length;
        if (end <= turn.textSent) return;
        const piece = o.offset < turn.textSent ? o.text.slice(turn.textSent - o.offset) : o.text;
        turn.textSent = end;
        if (!em.openMessageItemId) st.sendAll(em.beginMessage(turn.assistantItemId));
        return st.sendAll(em.transcriptDelta(piece));
      }
      case 'sentence':
        turn.sentences[o.seq] = { text: o.text, bytes: turn.sentences[o.seq]?.bytes ?? 0 };
        return;
      case 'function_call': {
        const em = this.emitterOf(turn);
        const handler = toolHandlerFor(st.business, o.name, st.session.tools);
        if (handler.type === 'client') turn.hadClientTool = true;
        st.sendAll(em.beginFunctionCall(o.call_id, o.name, o.item_id));
        st.sendAll(em.argumentsDelta(o.call_id, o.arguments));
        return st.sendAll(em.endFunctionCall(o.call_id, o.arguments));
      }
      case 'function_call_output':
        st.send(
          serverEvents.functionCallDone({ call_id: o.call_id, name: o.name, arguments: o.arguments, output: o.output, duration_ms: o.duration_ms, response_id: turn.responseId, item_id: o.item_id }),
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
        if (o.error) st.error('tts_failed', `Could not speak: "${turn.sentences[o.seq]?.text ?? ''}" (${o.error})`, undefined, undefined, 'server_error');
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
        st.error('turn_failed', `The ${o.stage} stage failed: ${o.error}`, undefined, undefined, 'server_error');
        if (!o.fallback_text && !turn.emitter) st.retire(turn);
        return;
    }
  }

  /** The user item gets its transcript; one the client deleted meanwhile stays out of the history. */
  private async userTranscript(itemId: string, transcript: string): Promise<void> {
    const { st } = this;
    st.items.setUserTranscript(itemId, transcript);
    if (st.items.wasDeleted(itemId)) await st.s.calls.rewriteHistoryItem(st.callId, itemId, null);
  }

  private emitterOf(turn: Turn): ResponseEmitter {
    if (!turn.emitter) {
      // Output can only follow response_started; if a record raced ahead, open the response now.
      turn.emitter = new ResponseEmitter({ responseId: turn.responseId, conversationId: this.st.conversationId, modalities: turn.modalities, previousItemId: this.st.lastItemId });
      this.st.sendAll(turn.emitter.created());
    }
    return turn.emitter;
  }

  private sendAudio(turn: Turn, chunk: Uint8Array): void {
    const { st } = this;
    if (!turn.modalities.includes('audio')) return;
    const em = this.emitterOf(turn);
    if (!em.openMessageItemId) st.sendAll(em.beginMessage(turn.assistantItemId));
    const pcm = new Int16Array(chunk.buffer.slice(chunk.byteOffset, chunk.byteOffset + chunk.byteLength));
    const out = this.encoder.push(pcm);
    if (out.length === 0) return;
    if (turn.firstAudioAt === null) {
      turn.firstAudioAt = Date.now();
      void st.s.stageLog.write({ call_id: st.callId, turn_id: turn.id, stage: 'gateway', event: 'first_output', duration_ms: turn.firstAudioAt - turn.committedAt });
    }
    turn.audioBytesSent += chunk.byteLength;
    const bytes = new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
    // A transport that plays the audio itself takes the bytes; the others get base64 deltas.
    if (st.host.audio) st.host.audio.push(turn.assistantItemId, bytes);
    else st.sendAll(em.audioDelta(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64')));
  }

  private async maybeFinish(turn: Turn): Promise<void> {
    const { st } = this;
    if (turn.totalSentences === null || turn.cancelled || !turn.emitter || turn.emitter.isDone) return;
    const speaking = turn.modalities.includes('audio');
    if (speaking && !turn.playout.complete(turn.totalSentences)) return;
    st.sendAll(turn.emitter.done('completed', {}, turn.usage ?? null));
    st.lastItemId = turn.emitter.lastItemId;
    await st.s.stageLog.write({
      call_id: st.callId,
      turn_id: turn.id,
      stage: 'gateway',
      event: 'completed',
      duration_ms: Date.now() - turn.committedAt,
      data: { audio_ms: Math.round(sentMs(turn)), sentences: turn.totalSentences },
    });
    st.retire(turn);
    if (turn.action) this.carryOut(turn);
  }

  /** end_call / transfer_to_human, once the answer has played (audio is sent ahead of real time). */
  private carryOut(turn: Turn): void {
    const { st } = this;
    const { action, reason } = turn.action!;
    const remainingMs = unplayedMs({ sentMs: sentMs(turn), firstSentAt: turn.firstAudioAt, now: Date.now() });
    void st.s.stageLog.write({ call_id: st.callId, turn_id: turn.id, stage: 'gateway', event: 'completed', data: { call_action: action, reason: reason ?? null, after_ms: Math.round(remainingMs) } });
    carryOutCallAction(st.host, action, reason, remainingMs, () => st.closed);
  }
}
