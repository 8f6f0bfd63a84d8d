/**
 * One-shot turns (POST /v1/calls/:id/turns): collects what the driver says after the caller's
 * utterance is committed — the user item's transcript, the answer's text, audio and tool calls —
 * until the answer is done. A response that only called server-side tools (realtime mode answers
 * in a second response) does not end the turn.
 */
import type { ServerEvent } from '../../contracts/realtime';
import { bytesToPcm16 } from '../../core/audio/pcm';
import { ulawDecode, alawDecode } from '../../core/audio/g711';
import { formatRate, type AudioFormat } from '../../core/audio/formats';
import { ApiError } from '../../errors';
import type { CallSession } from './call-sessions';

export interface ToolCallResult {
  call_id: string;
  name: string;
  arguments: string;
  output: string | null;
  duration_ms: number | null;
}

export interface CollectedTurn {
  userItemId: string | null;
  transcript: string | null;
  responseIds: string[];
  status: string;
  text: string;
  toolCalls: ToolCallResult[];
  /** The answer's audio as PCM16 mono at `audioRate`. */
  audio: Int16Array[];
  audioRate: number;
}

/** How long a turn may take from commit to the end of the answer. */
export const TURN_TIMEOUT_MS = 90_000;
/** After the answer, how long to wait for a transcript still on its way (realtime transcribes in parallel). */
const TRANSCRIPT_GRACE_MS = 5_000;

export class TurnCollector {
  private readonly result: CollectedTurn;
  private readonly off: () => void;
  private resolve!: (t: CollectedTurn) => void;
  private reject!: (e: Error) => void;
  readonly done: Promise<CollectedTurn>;
  private answered = false;
  private transcriptSettled = false;
  private timer: NodeJS.Timeout;
  private texts: string[] = [];

  constructor(
    session: CallSession,
    private readonly outputFormat: AudioFormat,
    timeoutMs = TURN_TIMEOUT_MS,
  ) {
    this.result = { userItemId: null, transcript: null, responseIds: [], status: 'in_progress', text: '', toolCalls: [], audio: [], audioRate: formatRate(outputFormat) };
    this.done = new Promise((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    this.done.catch(() => undefined);
    this.timer = setTimeout(() => this.fail(new ApiError(504, 'server_error', 'turn_timeout', `The answer did not complete within ${timeoutMs / 1000} s.`)), timeoutMs);
    this.off = session.subscribe((e) => this.on(e));
  }

  cancel(): void {
    this.finish();
  }

  private on(e: ServerEvent): void {
    const r = this.result;
    switch (e.type) {
      case 'input_audio_buffer.committed':
        r.userItemId ??= e.item_id;
        return;
      case 'conversation.item.input_audio_transcription.completed':
        if (e.item_id !== r.userItemId) return;
        r.transcript = e.transcript;
        this.transcriptSettled = true;
        return this.maybeFinish();
      case 'conversation.item.input_audio_transcription.failed':
        if (e.item_id !== r.userItemId) return;
        this.transcriptSettled = true;
        if (r.responseIds.length === 0) return this.fail(new ApiError(502, 'server_error', 'transcription_failed', `Could not transcribe the audio: ${e.error.message ?? 'unknown error'}.`));
        return this.maybeFinish();
      case 'response.created':
        r.responseIds.push(e.response.id);
        return;
      case 'response.audio.delta':
        if (!this.ours(e.response_id)) return;
        r.audio.push(this.decode(Buffer.from(e.delta, 'base64')));
        return;
      case 'response.audio_transcript.done':
      case 'response.text.done': {
        if (!this.ours(e.response_id)) return;
        const text = e.type === 'response.text.done' ? e.text : e.transcript;
        if (text) this.texts.push(text);
        return;
      }
      case 'response.output_item.done':
        if (this.ours(e.response_id) && e.item.type === 'function_call') {
          r.toolCalls.push({ call_id: e.item.call_id, name: e.item.name, arguments: e.item.arguments, output: null, duration_ms: null });
        }
        return;
      case 'response.function_call.done': {
        const call = r.toolCalls.find((c) => c.call_id === e.call_id);
        if (call) Object.assign(call, { output: e.output, duration_ms: e.duration_ms });
        else r.toolCalls.push({ call_id: e.call_id, name: e.name, arguments: e.arguments, output: e.output, duration_ms: e.duration_ms });
        return;
      }
      case 'response.done': {
        if (!this.ours(e.response.id)) return;
        r.status = e.response.status;
        const output = e.response.output ?? [];
        const onlyTools = output.length > 0 && output.every((i) => i.type === 'function_call');
        // Server-side tools ran and the model answers in a next response (realtime mode).
        if (e.response.status === 'completed' && onlyTools && r.toolCalls.some((c) => c.output !== null)) return;
        this.answered = true;
        return this.maybeFinish();
      }
      case 'error':
        if (e.error.code === 'turn_failed' && r.responseIds.length === 0) {
          this.fail(new ApiError(502, 'server_error', 'turn_failed', e.error.message));
        }
        return;
      default:
        return;
    }
  }

  private ours(responseId: string | undefined): boolean {
    return responseId !== undefined && this.result.responseIds.includes(responseId);
  }

  private decode(bytes: Buffer): Int16Array {
    if (this.outputFormat === 'g711_ulaw') return ulawDecode(bytes);
    if (this.outputFormat === 'g711_alaw') return alawDecode(bytes);
    return bytesToPcm16(bytes);
  }

  private maybeFinish(): void {
    if (!this.answered) return;
    if (this.transcriptSettled || this.result.userItemId === null) return this.finish();
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.finish(), TRANSCRIPT_GRACE_MS);
  }

  private finish(): void {
    clearTimeout(this.timer);
    this.off();
    this.result.text = this.texts.join(' ');
    this.resolve(this.result);
  }

  private fail(err: Error): void {
    clearTimeout(this.timer);
    this.off();
    this.reject(err);
  }
}
