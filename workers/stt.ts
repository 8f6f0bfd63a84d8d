/**
 * STT stage: the utterance audio (PCM16 16 kHz in Redis) → Whisper-compatible transcription →
 * the user message in history (once) → the LLM job when the turn asks for a response. An 'early'
 * job transcribes a turn during the caller's pause (business.early_transcription_ms); the turn's
 * own job then takes that transcript if no speech came after it.
 */
import { toFile } from 'openai';
import type { Job } from 'bullmq';
import type { CallRecord } from '../src/contracts/call';
import type { EarlySttJob, SttJob } from '../src/contracts/jobs';
import { bytesToPcm16 } from '../src/core/audio/pcm';
import { encodeWav } from '../src/core/audio/formats';
import { describeError } from '../src/adapters/retry';
import { failedOn, type Attempt, type ProviderName } from '../src/adapters/failover';
import { TurnJobs } from '../src/adapters/turn-jobs';
import { Utterances, type EarlyResult } from '../src/adapters/utterances';
import { TurnSignals } from '../src/adapters/turn-signals';
import { beginJob, isAbort } from './job-context';
import type { WorkerDeps } from './runtime';

/** How long a turn's STT job waits for its early transcription before transcribing by itself. */
const EARLY_WAIT_S = 10;

export function createSttProcessor(deps: WorkerDeps) {
  const utterances = new Utterances(deps.redis, deps.keys);
  const jobs = new TurnJobs(deps.queues, deps.stageLog);
  return async function processStt(job: Job<SttJob> | Job<EarlySttJob>): Promise<void> {
    if (job.name === 'early') return transcribeEarly(deps, utterances, (job as Job<EarlySttJob>).data);
    const sttJob = job as Job<SttJob>;
    const d = sttJob.data;
    // One round trip before the provider request: the attempt, the call and the audio together.
    const [ctx, call, bytes] = await Promise.all([beginJob(deps, sttJob, 'stt'), deps.calls.get(d.call_id), utterances.get(d.call_id, d.turn_id)]);
    try {
      if (ctx.signal.aborted) return void (await ctx.log('cancelled'));
      /** The turn ends here without an answer from the LLM: its waiting job goes. */
      const skip = () => (d.llm_waiting ? TurnSignals.mark(deps.redis, deps.keys, d.call_id, d.turn_id, 'transcript', 'skip') : Promise.resolve());
      if (!call) return void (await Promise.all([ctx.log('failed', { error: 'call not found' }), skip()]));
      /** Hands the turn on to the LLM (or closes it when nothing was said). */
      const respond = async (text: string) => {
        const answer = d.respond && text && !ctx.signal.aborted;
        if (d.llm_waiting) await TurnSignals.mark(deps.redis, deps.keys, d.call_id, d.turn_id, 'transcript', answer ? 'ready' : 'skip');
        else if (answer) await jobs.llm({ call_id: d.call_id, turn_id: d.turn_id, response_id: d.response_id, assistant_item_id: d.assistant_item_id, business_id: call.business_id });
        if (d.respond && !answer) await deps.output.write(d.call_id, { kind: 'text_done', turn_id: d.turn_id, text: '', sentences: 0 });
      };
      if (!bytes) {
        // A redelivery after the first attempt transcribed and dropped the audio: carry on from history.
        const prior = (await deps.calls.history(d.call_id)).find((h) => h.item_id === d.user_item_id);
        if (!prior) return void (await Promise.all([ctx.log('failed', { error: 'utterance audio expired' }), skip()]));
        await ctx.log('completed', { transcript: prior.message['content'], resumed: true }, Date.now() - ctx.startedAt);
        return respond(String(prior.message['content'] ?? ''));
      }
      ctx.later(ctx.log('started', { audio_ms: d.audio_ms, queue_wait_ms: ctx.startedAt - job.timestamp }));
      const early = d.early_id ? await utterances.early(d.call_id, d.early_id, EARLY_WAIT_S, ctx.signal) : null;
      let text: string;
      let provider: ProviderName | undefined;
      try {
        if (early !== null) text = early;
        else {
          const r = await deps.providers.stt.run((a) => transcribe(call, bytes, a, deps.config.stt.model), {
            signal: ctx.signal,
            onRetry: (r) => ctx.log('retry', { retry: r.retry, delay_ms: r.delayMs, error: describeError(r.error), provider: r.provider }),
            onFailover: (f) => ctx.log('retry', { failover: true, provider: 'fallback', error: describeError(f.error) }),
          });
          text = r.value;
          provider = r.provider;
        }
      } catch (err) {
        if (isAbort(err, ctx.signal)) return void (await ctx.log('cancelled', {}, Date.now() - ctx.startedAt));
        await ctx.log('failed', { error: describeError(err), provider: failedOn(err) ?? null }, Date.now() - ctx.startedAt);
        await deps.output.write(d.call_id, { kind: 'transcript_failed', turn_id: d.turn_id, item_id: d.user_item_id, error: describeError(err) });
        // The client hears of it (turn_failed ends the turn at the gateway); the waiting LLM job goes.
        if (d.respond) await deps.output.write(d.call_id, { kind: 'turn_failed', turn_id: d.turn_id, stage: 'stt', error: describeError(err) });
        await skip();
        return;
      }
      // The LLM reads the history: the user message goes in before its job is queued. The rest
      // (transcript, audit, the client's transcript event, the log) goes out alongside, not before.
      const appended = await deps.calls.appendHistoryOnce(d.call_id, `${d.turn_id}:user`, [
        { item_id: d.user_item_id, turn_id: d.turn_id, message: { role: 'user', content: text } },
      ]);
      if (appended) {
        ctx.later(deps.calls.appendTranscript(d.call_id, { ts: Date.now(), role: 'user', turn_id: d.turn_id, text }));
        ctx.later(deps.audit.appendForCall(d.call_id, { type: 'transcript.user', actor: 'system', data: { turn_id: d.turn_id, text } }));
      }
      // The model hears the caller as said (history above); transcripts shown anywhere are filtered.
      ctx.later(deps.filters.redactText(d.call_id, text).then((shown) => deps.output.write(d.call_id, { kind: 'transcript', turn_id: d.turn_id, item_id: d.user_item_id, text: shown })));
      ctx.later(utterances.drop(d.call_id, d.turn_id));
      ctx.later(ctx.log('completed', { transcript: text, audio_ms: d.audio_ms, ...(early !== null ? { early: true } : { provider }) }, Date.now() - ctx.startedAt));
      await respond(text);
      await ctx.settle();
    } finally {
      ctx.release();
    }
  };
}

/** One transcription request: the utterance as WAV, with the session's model (or the fallback's own), language and prompt. */
async function transcribe(call: CallRecord, pcm: Buffer, a: Attempt, defaultModel: string): Promise<string> {
  const t = call.session.input_audio_transcription;
  const res = await a.provider.client.audio.transcriptions.create(
    {
      file: await toFile(encodeWav(bytesToPcm16(pcm), 16_000), 'utterance.wav', { type: 'audio/wav' }),
      model: a.provider.model ?? t?.model ?? defaultModel,
      ...(t?.language ? { language: t.language } : {}),
      ...(t?.prompt ? { prompt: t.prompt } : {}),
    },
    { signal: a.signal },
  );
  return res.text.trim();
}

/**
 * One attempt, no retries: if it fails, the turn's own STT job transcribes (and retries) itself.
 * It still goes where the circuit says, and a failed primary is tried once on the fallback.
 */
async function transcribeEarly(deps: WorkerDeps, utterances: Utterances, d: EarlySttJob): Promise<void> {
  const [call, bytes] = await Promise.all([deps.calls.get(d.call_id), utterances.get(d.call_id, d.early_id)]);
  let result: EarlyResult;
  try {
    result =
      call && bytes
        ? { text: (await deps.providers.stt.run((a) => transcribe(call, bytes, a, deps.config.stt.model), { signal: new AbortController().signal, maxRetries: 0 })).value }
        : { error: 'call or audio gone' };
  } catch (err) {
    result = { error: describeError(err) };
  }
  await utterances.putEarly(d.call_id, d.early_id, result);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  void import('./runtime').then((m) => m.runStageMain('stt'));
}
