/**
 * TTS stage: one sentence → `audio.speech` (PCM 24 kHz) streamed to the call's output stream in
 * chunks with their byte offset, so a re-delivered job's repeated bytes are dropped at the gateway.
 */
import { createHash } from 'node:crypto';
import type { Job } from 'bullmq';
import type { TtsJob } from '../src/contracts/jobs';
import { describeError } from '../src/adapters/retry';
import { failedOn, type ProviderName } from '../src/adapters/failover';
import { WriteBatch } from '../src/core/write-batch';
import { abortable } from '../src/core/abortable';
import { beginJob, isAbort } from './job-context';
import type { WorkerDeps } from './runtime';

const FALLBACK_CACHE_TTL_S = 7 * 86_400;

function fallbackKey(deps: WorkerDeps, businessId: string, voice: string, speed: number | undefined, text: string): string {
  const hash = createHash('sha256').update(`${voice}|${speed ?? 1}|${text}`).digest('hex').slice(0, 32);
  return deps.keys.fallbackAudio(businessId, hash);
}

export function createTtsProcessor(deps: WorkerDeps) {
  return async function processTts(job: Job<TtsJob>): Promise<void> {
    let d = job.data;
    // One round trip before the provider request: the attempt and the call together.
    const [ctx, call] = await Promise.all([beginJob(deps, job, 'tts'), deps.calls.get(d.call_id)]);
    let sent = 0;
    const writes = new WriteBatch();
    try {
      if (ctx.signal.aborted) return void (await ctx.log('cancelled', { seq: d.seq }));
      if (!call) return void (await ctx.log('failed', { seq: d.seq, error: 'call not found' }));
      let textWaitMs: number | undefined;
      if (d.text_pending) {
        // Queued as the LLM started: the sentence comes as a turn signal (adapters/turn-signals.ts).
        const sentence = await ctx.input('sentence0', { seq: d.seq });
        if (!sentence) return;
        if (sentence.value === '') return void (await ctx.log('completed', { seq: d.seq, skipped: 'the answer has no sentence' }));
        d = { ...d, ...(JSON.parse(sentence.value) as { text: string; fallback?: boolean }) };
        textWaitMs = sentence.waitedMs;
      }
      writes.add(ctx.log('started', { seq: d.seq, chars: d.text.length, queue_wait_ms: ctx.startedAt - job.timestamp, ...(textWaitMs !== undefined ? { text_wait_ms: textWaitMs } : {}) }));
      const cacheKey = d.fallback ? fallbackKey(deps, call.business_id, call.session.voice, call.session.speed, d.text) : null;
      const spoken: Buffer[] = [];
      let cachedAfter: string | null = null;
      let provider: ProviderName | null = null;
      await deps.providers.tts
        .run(
          async (a) => {
            spoken.length = 0;
            const res = await a.provider.client.audio.speech.create(
              {
                model: a.provider.model ?? deps.config.tts.model,
                voice: call.session.voice as 'nova',
                input: d.text,
                response_format: 'pcm',
                ...(call.session.speed !== undefined ? { speed: call.session.speed } : {}),
              },
              { signal: a.signal },
            );
            if (!res.body) throw new Error('speech response has no body');
            // Offsets restart at 0 on a retry (or on the fallback): the gateway keeps what it already sent.
            let offset = 0;
            let carry: Buffer | null = null;
            for await (const chunk of abortable(res.body as unknown as AsyncIterable<Uint8Array>, a.signal)) {
              a.firstByte();
              let buf = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
              if (carry) {
                buf = Buffer.concat([carry, buf]);
                carry = null;
              }
              if (buf.length % 2 === 1) {
                carry = Buffer.from(buf.subarray(buf.length - 1));
                buf = buf.subarray(0, buf.length - 1);
              }
              if (buf.length === 0) continue;
              if (offset === 0 && sent === 0) writes.add(ctx.log('first_output', { seq: d.seq, provider: a.provider.name }, Date.now() - ctx.startedAt));
              // Chunks go out without a round trip each (one connection keeps them in order).
              writes.add(deps.output.write(d.call_id, { kind: 'audio', turn_id: d.turn_id, seq: d.seq, offset }, buf));
              if (cacheKey) spoken.push(Buffer.from(buf));
              offset += buf.length;
              sent = Math.max(sent, offset);
            }
          },
          {
            signal: ctx.signal,
            onRetry: (r) => ctx.log('retry', { seq: d.seq, retry: r.retry, delay_ms: r.delayMs, error: describeError(r.error), provider: r.provider }),
            onFailover: (f) => ctx.log('retry', { seq: d.seq, failover: true, provider: 'fallback', error: describeError(f.error) }),
          },
        )
        .then((r) => void (provider = r.provider))
        .catch(async (err: unknown) => {
          // TTS is down: the fallback message can still be heard from its last good synthesis.
          const cached = cacheKey && !isAbort(err, ctx.signal) ? await deps.redis.getBuffer(cacheKey) : null;
          if (!cached) throw err;
          writes.add(deps.output.write(d.call_id, { kind: 'audio', turn_id: d.turn_id, seq: d.seq, offset: 0 }, cached));
          sent = Math.max(sent, cached.length);
          cachedAfter = describeError(err);
        });
      if (cacheKey && spoken.length > 0) writes.add(deps.redis.set(cacheKey, Buffer.concat(spoken), 'EX', FALLBACK_CACHE_TTL_S));
      await writes.flush();
      await deps.output.write(d.call_id, { kind: 'audio_done', turn_id: d.turn_id, seq: d.seq, bytes: sent });
      await ctx.log('completed', { seq: d.seq, audio_ms: Math.round(sent / 48), provider, ...(cachedAfter ? { cached_fallback_after: cachedAfter } : {}) }, Date.now() - ctx.startedAt);
    } catch (err) {
      if (isAbort(err, ctx.signal)) return void (await ctx.log('cancelled', { seq: d.seq }, Date.now() - ctx.startedAt));
      await ctx.log('failed', { seq: d.seq, error: describeError(err), provider: failedOn(err) ?? null }, Date.now() - ctx.startedAt);
      // Let the rest of the answer play; the gateway tells the client what could not be spoken.
      await deps.output.write(d.call_id, { kind: 'audio_done', turn_id: d.turn_id, seq: d.seq, bytes: sent, error: describeError(err) });
    } finally {
      ctx.release();
    }
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  void import('./runtime').then((m) => m.runStageMain('tts'));
}
