/**
 * First audio of a turn, one call at a time: npx tsx bench/first-audio.ts [--turns 8]
 *   (writes bench/out/first-audio.json and prints a table)
 *
 * The whole service in-process (test/helpers/service.ts: gateway + in-process workers, Redis at
 * REDIS_URL or 127.0.0.1:6379 under its own prefix) against the fake provider. Each turn is a new
 * call whose caller streams the `hours` fixture (speech 0.5–1.83 s) and then silence as 20 ms
 * binary frames in real time (frame i leaves when its 20 ms have been "recorded"), until the first
 * response.audio.delta arrives. Scenarios take turns (one call of each, round after round), so
 * the shared machine's load spreads over all of them.
 *
 * - early transcription off / on (business.early_transcription_ms 200), STT 300 ms (a Whisper-like
 *   figure), LLM first token 150 ms, TTS first byte 100 ms, all tokens at once;
 * - answers at a real model's pace, 30 ms per token (STT 100 / LLM first token 150 / TTS 100 ms):
 *   a short first sentence ("Sure."); a long first sentence with a clause end after 47 characters;
 *   the same sentence with no clause end (nothing to cut before its period).
 *
 * Per turn: *first audio* = the turn's waterfall mark first_audio_sent_ms (the gateway sent the
 * first audio, from the end of the turn the VAD detected, after silence_duration_ms = 500 ms);
 * *heard* = first response.audio.delta received − the true end of speech (client clock; includes
 * the 500 ms). For the paced answers, *piece → TTS job*: when the LLM worker queued the first
 * piece's TTS job, after the token that completed that piece reached it (the fake sends token k at
 * the first token + k × 30 ms; its timers drift ~1 ms per token, so this grows with k). Waiting for
 * one more token before ending the piece would add 30 ms here.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { StageLogEntry } from '../src/contracts/logs';
import { pcm16ToBytes } from '../src/core/audio/pcm';
import { SentenceSplitter } from '../src/core/sentences';
import { textPieces } from '../src/local-provider/chat-wire';
import type { ScriptDelays } from '../test/fakes/script';
import { loadManifest } from '../test/fixtures/index';
import { connectCall, newCall, spokenTurn } from '../test/helpers/calls';
import { SIMPLE_BUSINESS, startService, type TestService } from '../test/helpers/service';
import { arg, machine, percentile, runMain } from './common';

const OUT = join(dirname(fileURLToPath(import.meta.url)), 'out', 'first-audio.json');
const FRAME_MS = 20;
const FRAME_BYTES = 24 * FRAME_MS * 2; // PCM16 24 kHz
const TOKEN_MS = 30;
const WHISPER_LIKE: ScriptDelays = { sttMs: 300, llmFirstTokenMs: 150, llmTokenMs: 0, ttsFirstByteMs: 100 };
const PACED: ScriptDelays = { sttMs: 100, llmFirstTokenMs: 150, llmTokenMs: TOKEN_MS, ttsFirstByteMs: 100 };

interface Scenario {
  name: string;
  business: 'plain' | 'early';
  delays: ScriptDelays;
  /** The answer (the fake's default reply when absent). */
  answer?: string;
}

const SCENARIOS: Scenario[] = [
  { name: 'early transcription off (STT 300 ms)', business: 'plain', delays: WHISPER_LIKE },
  { name: 'early transcription on, 200 ms (STT 300 ms)', business: 'early', delays: WHISPER_LIKE },
  { name: 'short first sentence, 30 ms/token', business: 'plain', delays: PACED, answer: 'Sure. Our opening hours are nine to five on weekdays. Anything else?' },
  {
    name: 'long first sentence with a clause, 30 ms/token',
    business: 'plain',
    delays: PACED,
    answer: 'Our opening hours are nine to five on weekdays, ten to four on Saturdays, and we are closed on Sundays and public holidays. Anything else?',
  },
  {
    name: 'long first sentence, no clause end, 30 ms/token',
    business: 'plain',
    delays: PACED,
    answer: 'Our opening hours are nine to five on weekdays and ten to four on Saturdays and we are closed on Sundays and public holidays. Anything else?',
  },
];

/** Which token (0-based, as the fake streams the answer) completes the answer's first piece. */
function firstPieceToken(answer: string): number {
  const sp = new SentenceSplitter();
  const pieces = textPieces(answer);
  for (let i = 0; i < pieces.length; i++) if (sp.push(pieces[i]!).length > 0) return i;
  return pieces.length - 1; // flushed at the end of the stream
}

interface Turn {
  firstAudioMs: number | null;
  heardMs: number | null;
  pieceToTtsMs: number | null;
  error?: string;
}

const sleepUntil = (t: number) => new Promise((r) => setTimeout(r, Math.max(0, t - performance.now())));

async function oneTurn(svc: TestService, sc: Scenario, speechEndMs: number, audio: Uint8Array): Promise<Turn> {
  svc.fake.reset();
  svc.fake.script.delays = { ...sc.delays };
  if (sc.answer) svc.fake.script.chat.push({ text: sc.answer });
  const { id } = await newCall(svc, sc.business);
  const c = await connectCall(svc, id);
  let heardAt = 0;
  const heard = c.waitFor('response.audio.delta', 0, 20_000).then(
    () => (heardAt = performance.now()),
    () => undefined,
  );
  const silence = new Uint8Array(FRAME_BYTES);
  const t0 = performance.now();
  // Frame i covers [20i, 20i + 20) ms of the caller's audio: it leaves once that has been "recorded".
  for (let i = 0; !heardAt && i < 20_000 / FRAME_MS; i++) {
    await sleepUntil(t0 + (i + 1) * FRAME_MS);
    const at = i * FRAME_BYTES;
    c.sendBinary(at < audio.length ? audio.subarray(at, at + FRAME_BYTES) : silence);
  }
  await heard;
  c.close();
  if (!heardAt) return { firstAudioMs: null, heardMs: null, pieceToTtsMs: null, error: 'no audio in 20 s' };
  // The stage log is written as the turn goes: wait for the gateway's first_output to be there.
  let log: StageLogEntry[] = [];
  for (let k = 0; k < 50; k++) {
    log = ((await (await svc.api(`/v1/calls/${id}/logs`)).json()) as { data: StageLogEntry[] }).data;
    if (log.some((e) => e.stage === 'gateway' && e.event === 'first_output')) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const at = (stage: string, event: string, pred: (e: StageLogEntry) => boolean = () => true) => log.find((e) => e.stage === stage && e.event === event && pred(e));
  const vadEnd = at('vad', 'completed')?.ts;
  const sent = at('gateway', 'first_output')?.ts;
  const firstToken = at('llm', 'first_output')?.ts;
  const ttsStart = at('tts', 'started', (e) => e.data['seq'] === 0);
  let pieceToTtsMs: number | null = null;
  if (sc.answer && sc.delays.llmTokenMs && firstToken !== undefined && ttsStart) {
    const queuedAt = ttsStart.ts - Number(ttsStart.data['queue_wait_ms'] ?? 0);
    pieceToTtsMs = queuedAt - (firstToken + firstPieceToken(sc.answer) * sc.delays.llmTokenMs);
  }
  return {
    firstAudioMs: vadEnd !== undefined && sent !== undefined ? sent - vadEnd : null,
    heardMs: Math.round(heardAt - (t0 + speechEndMs)),
    pieceToTtsMs,
  };
}

async function main(): Promise<void> {
  const turns = Number(arg('turns', '8'));
  const speechEndMs = loadManifest()['hours_16k.wav']!.segments[0]!.endMs;
  const audio = pcm16ToBytes(spokenTurn(24_000, 0));
  const svc = await startService();
  const results = new Map<Scenario, Turn[]>(SCENARIOS.map((s) => [s, []]));
  try {
    await svc.api('/v1/businesses/plain', { method: 'PUT', json: SIMPLE_BUSINESS });
    await svc.api('/v1/businesses/early', { method: 'PUT', json: { ...SIMPLE_BUSINESS, early_transcription_ms: 200 } });
    for (const sc of SCENARIOS) await oneTurn(svc, sc, speechEndMs, audio); // warm-up, not counted
    for (let r = 0; r < turns; r++) {
      for (const sc of SCENARIOS) results.get(sc)!.push(await oneTurn(svc, sc, speechEndMs, audio));
      console.error(`round ${r + 1}/${turns}`);
    }
  } finally {
    await svc.stop();
  }
  const q = (xs: (number | null)[]) => {
    const v = xs.filter((x): x is number => x !== null);
    return { p50: percentile(v, 50), p95: percentile(v, 95), n: v.length };
  };
  const rows = SCENARIOS.map((sc) => {
    const ts = results.get(sc)!;
    return {
      scenario: sc.name,
      delays: sc.delays,
      answer: sc.answer ?? null,
      first_piece_token: sc.answer ? firstPieceToken(sc.answer) : null,
      turns: ts.length,
      errors: ts.filter((t) => t.error).length,
      first_audio_ms: q(ts.map((t) => t.firstAudioMs)),
      heard_ms: q(ts.map((t) => t.heardMs)),
      piece_to_tts_job_ms: q(ts.map((t) => t.pieceToTtsMs)),
      samples: ts,
    };
  });
  const report = { date: new Date().toISOString(), machine: machine(), turns_per_scenario: turns, rows };
  mkdirSync(dirname(OUT), { recursive: true });
  writeFileSync(OUT, JSON.stringify(report, null, 2));
  const f = (x: number | null) => (x === null ? '-' : x.toFixed(0));
  console.log(`First audio, one call at a time (${report.machine}), ${turns} turns per scenario\n`);
  console.table(
    Object.fromEntries(
      rows.map((r) => [
        r.scenario,
        {
          'first audio p50 / p95 ms': `${f(r.first_audio_ms.p50)} / ${f(r.first_audio_ms.p95)}`,
          'heard p50 ms': f(r.heard_ms.p50),
          'piece → TTS job p50 / p95 ms': r.piece_to_tts_job_ms.n ? `${f(r.piece_to_tts_job_ms.p50)} / ${f(r.piece_to_tts_job_ms.p95)} (token ${r.first_piece_token})` : '-',
          errors: r.errors,
        },
      ]),
    ),
  );
  console.log(`\nwrote ${OUT}`);
}

runMain(import.meta, main);
