/**
 * The stage log of a realtime call (stage `realtime`; tools write their own `tool` entries):
 * session set, speech started/stopped, transcript, response created / first output / done, with
 * the timings a chained call's log shows (ms from end of speech to response, to first audio) and
 * the upstream's usage. `data.step` says which of these an entry is.
 */
import type { LogEvent } from '../../contracts/logs';
import type { ServerEvent } from '../../contracts/realtime';
import type { StageLog } from '../../adapters/stage-log';

interface ResponseTiming {
  createdAt: number;
  firstOutputAt: number | null;
  turnId: string | null;
}

export class RealtimeStageLog {
  private turnId: string | null = null;
  private speechStoppedAt: number | null = null;
  private readonly responses = new Map<string, ResponseTiming>();

  constructor(
    private readonly log: StageLog,
    private readonly callId: string,
    private readonly onError: (err: Error) => void,
    private readonly now: () => number = Date.now,
  ) {}

  private write(event: LogEvent, data: Record<string, unknown>, duration_ms?: number | null, turnId = this.turnId): void {
    this.log
      .write({ call_id: this.callId, turn_id: turnId, stage: 'realtime', event, duration_ms: duration_ms ?? null, data })
      .catch((err: Error) => this.onError(err));
  }

  sessionSet(durationMs: number, data: Record<string, unknown>): void {
    this.write('completed', { step: 'session', ...data }, durationMs, null);
  }

  callAction(data: Record<string, unknown>, responseId: string): void {
    this.write('completed', { step: 'call_action', response_id: responseId, ...data });
  }

  /** The primary upstream refused the connection: the fallback is tried next (DESIGN.md §8). */
  failover(error: string): void {
    this.write('retry', { step: 'upstream', failover: true, provider: 'fallback', error }, null, null);
  }

  upstreamFailed(data: Record<string, unknown>): void {
    this.write('failed', { step: 'upstream', ...data });
  }

  /** Every upstream event passes here once, after it was relayed to the client. */
  observe(e: ServerEvent): void {
    const t = this.now();
    switch (e.type) {
      case 'input_audio_buffer.speech_started':
        this.turnId = e.item_id;
        return this.write('started', { step: 'speech', audio_start_ms: e.audio_start_ms });
      case 'input_audio_buffer.speech_stopped':
        this.speechStoppedAt = t;
        return this.write('completed', { step: 'speech', audio_end_ms: e.audio_end_ms });
      case 'conversation.item.input_audio_transcription.completed':
        return this.write('completed', { step: 'transcript', item_id: e.item_id, transcript: e.transcript }, null, e.item_id);
      case 'conversation.item.input_audio_transcription.failed':
        return this.write('failed', { step: 'transcript', item_id: e.item_id, error: e.error.message ?? null }, null, e.item_id);
      case 'response.created': {
        this.responses.set(e.response.id, { createdAt: t, firstOutputAt: null, turnId: this.turnId });
        const sinceSpeech = this.speechStoppedAt === null ? null : t - this.speechStoppedAt;
        this.speechStoppedAt = null;
        return this.write('started', { step: 'response', response_id: e.response.id }, sinceSpeech);
      }
      case 'response.audio.delta':
      case 'response.text.delta':
      case 'response.audio_transcript.delta':
      case 'response.function_call_arguments.delta': {
        const r = this.responses.get(e.response_id);
        if (!r || r.firstOutputAt !== null) return;
        r.firstOutputAt = t;
        return this.write('first_output', { step: 'response', response_id: e.response_id, kind: e.type }, t - r.createdAt, r.turnId);
      }
      case 'response.done': {
        const r = this.responses.get(e.response.id);
        this.responses.delete(e.response.id);
        const status = e.response.status;
        const event: LogEvent = status === 'cancelled' ? 'cancelled' : status === 'failed' ? 'failed' : 'completed';
        return this.write(
          event,
          {
            step: 'response',
            response_id: e.response.id,
            status,
            ...(e.response.status_details?.reason ? { reason: e.response.status_details.reason } : {}),
            ...(r?.firstOutputAt ? { first_output_ms: r.firstOutputAt - r.createdAt } : {}),
            usage: e.response.usage,
          },
          r ? t - r.createdAt : null,
          r?.turnId ?? this.turnId,
        );
      }
      case 'error':
        return this.write('failed', { step: 'upstream_error', code: e.error.code ?? null, message: e.error.message });
      default:
        return;
    }
  }
}
