/**
 * A chained call's utterance audio and early transcripts in Redis: the gateway stores each turn's
 * (and each early transcription's) PCM16 16 kHz audio for the STT worker, which drops it once it
 * is transcribed; an early transcription's result waits under its own key, with a list the turn's
 * STT job blocks on until it is ready.
 */
import { pcm16ToBytes } from '../core/audio/pcm';
import { dedicatedConnection, type Keys, type Redis } from './redis';

/** How long an utterance waits for its STT job. */
const AUDIO_TTL_S = 600;
const EARLY_TTL_S = 120;

export type EarlyResult = { text: string } | { error: string };

export class Utterances {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
  ) {}

  /** Stores an utterance (`id`: the turn's, or the early transcription's) for the STT worker. */
  async put(callId: string, id: string, pcm: Int16Array): Promise<void> {
    await this.redis.set(this.keys.callAudio(callId, id), pcm16ToBytes(pcm), 'EX', AUDIO_TTL_S);
  }

  get(callId: string, id: string): Promise<Buffer | null> {
    return this.redis.getBuffer(this.keys.callAudio(callId, id));
  }

  /** The transcript is what is kept; the raw utterance (~64 KB per turn) goes now, not at its TTL. */
  async drop(callId: string, id: string): Promise<void> {
    await this.redis.del(this.keys.callAudio(callId, id));
  }

  /** An early transcription's result, ready for the turn's STT job; its audio goes. */
  async putEarly(callId: string, earlyId: string, result: EarlyResult): Promise<void> {
    const key = this.keys.earlyTranscript(callId, earlyId);
    await this.redis
      .multi()
      .set(key, JSON.stringify(result), 'EX', EARLY_TTL_S)
      .rpush(this.keys.earlyTranscriptReady(callId, earlyId), '1')
      .expire(this.keys.earlyTranscriptReady(callId, earlyId), EARLY_TTL_S)
      .del(this.keys.callAudio(callId, earlyId))
      .exec();
  }

  /** The early transcription's text once it is in (waiting up to `waitS`); null if it failed or never came. */
  async early(callId: string, earlyId: string, waitS: number, signal: AbortSignal): Promise<string | null> {
    const key = this.keys.earlyTranscript(callId, earlyId);
    let raw = await this.redis.get(key);
    if (raw === null) {
      const conn = dedicatedConnection(this.redis);
      const onAbort = () => conn.disconnect();
      signal.addEventListener('abort', onAbort, { once: true });
      try {
        if (await conn.blpop(this.keys.earlyTranscriptReady(callId, earlyId), waitS).catch(() => null)) raw = await this.redis.get(key);
      } finally {
        signal.removeEventListener('abort', onAbort);
        conn.disconnect();
      }
    }
    const result = raw === null ? null : (JSON.parse(raw) as { text?: string });
    return typeof result?.text === 'string' ? result.text : null;
  }
}
