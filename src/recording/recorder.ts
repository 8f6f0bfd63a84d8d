/**
 * Records one call (docs/DESIGN.md §9) as the call host sees it: the caller's audio as received, the
 * agent's audio as sent, the events that say when the agent was cut off. During the call every
 * call does only cheap work on the audio path: decode to 24 kHz and append to two buffered file
 * streams (the caller channel, contiguous; the agent's chunks with their place on the call's
 * clock). At the end, the agent channel is laid out with the cuts applied and both channels are
 * interleaved into the WAV, which goes to the store.
 */
import { randomBytes } from 'node:crypto';
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, open, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { ClientEvent, ServerEvent } from '../contracts/realtime';
import { InputDecoder, type AudioFormat } from '../core/audio/formats';
import { pcm16ToBytes } from '../core/audio/pcm';
import { AgentTimeline, heardSamples, placeCaller, RECORDING_RATE, type AgentChunk, type Cuts } from '../core/recording/timeline';
import { interleave, wavHeader } from '../core/recording/wav';
import type { Logger } from '../logger';
import type { CallDriver, AudioSink } from '../modes/driver';
import type { RecordingStore } from './store';

/** Bytes of an agent chunk's record header: item, offset, pos, samples (u32 each). */
const RECORD_HEADER = 16;
/** One second of silence, written as often as a gap needs. */
const SILENCE = Buffer.alloc(RECORDING_RATE * 2);

export interface RecorderOptions {
  callId: string;
  store: RecordingStore;
  /** Where the temporary channel files go while the call lasts. */
  tmpDir: string;
  log: Logger;
  inputFormat: AudioFormat;
  outputFormat: AudioFormat;
  /** The call's clock (ms); performance.now by default. */
  now?: () => number;
  /**
   * The caller hears the agent live (WebSocket, Twilio): audio still to play when the call ends
   * was not heard and is cut. False for HTTP calls, whose answers are fetched whole.
   */
  live?: boolean;
}

export class CallRecorder {
  private readonly now: () => number;
  private readonly t0: number;
  private readonly base: string;
  private readonly callerFile: WriteStream;
  private readonly agentFile: WriteStream;
  private callerDecoder: InputDecoder;
  private agentDecoder: InputDecoder;
  private callerCursor = 0;
  private readonly agent = new AgentTimeline();
  private interrupts = true;
  private failed: Error | null = null;
  private finished: Promise<void> | null = null;

  constructor(private readonly o: RecorderOptions) {
    this.now = o.now ?? (() => performance.now());
    this.t0 = this.now();
    this.base = join(o.tmpDir, `${o.callId}-${randomBytes(4).toString('hex')}`);
    this.callerDecoder = new InputDecoder(o.inputFormat, RECORDING_RATE);
    this.agentDecoder = new InputDecoder(o.outputFormat, RECORDING_RATE);
    this.callerFile = this.stream(`${this.base}.caller`);
    this.agentFile = this.stream(`${this.base}.agent`);
  }

  /** Samples since the call started. */
  private clock(): number {
    return Math.round(((this.now() - this.t0) * RECORDING_RATE) / 1000);
  }

  private stream(path: string): WriteStream {
    const s = createWriteStream(path, { highWaterMark: 256 * 1024 });
    s.on('error', (err) => {
      if (!this.failed) this.o.log.warn({ err: err.message }, 'recording write failed; this call will have no recording');
      this.failed ??= err;
    });
    return s;
  }

  /** Raw caller audio in the session's input format. */
  caller(bytes: Uint8Array): void {
    if (this.finished || this.failed) return;
    const pcm = this.callerDecoder.push(bytes);
    if (pcm.length === 0) return;
    const pos = placeCaller(this.callerCursor, this.clock(), pcm.length);
    writeSilence(this.callerFile, Math.max(0, pos - this.callerCursor));
    this.callerFile.write(pcm16ToBytes(pcm));
    this.callerCursor = Math.max(pos, this.callerCursor) + pcm.length;
  }

  /** Agent audio of an item, in the session's output format, as it goes out. */
  agentAudio(itemId: string, bytes: Uint8Array): void {
    if (this.finished || this.failed) return;
    const pcm = this.agentDecoder.push(bytes);
    if (pcm.length === 0) return;
    const c = this.agent.place(itemId, pcm.length, this.clock());
    const h = Buffer.allocUnsafe(RECORD_HEADER);
    h.writeUInt32LE(c.item, 0);
    h.writeUInt32LE(c.offset, 4);
    h.writeUInt32LE(c.pos, 8);
    h.writeUInt32LE(c.samples, 12);
    this.agentFile.write(h);
    this.agentFile.write(pcm16ToBytes(pcm));
  }

  clientEvent(e: ClientEvent): void {
    if (e.type === 'input_audio_buffer.append') this.caller(Buffer.from(e.audio, 'base64'));
  }

  /** Every server event of the call: audio, the session's formats, and what cuts the agent off. */
  serverEvent(e: ServerEvent): void {
    switch (e.type) {
      case 'session.created':
      case 'session.updated':
        if (e.session.input_audio_format !== this.callerDecoder.format) this.callerDecoder = new InputDecoder(e.session.input_audio_format, RECORDING_RATE);
        if (e.session.output_audio_format !== this.agentDecoder.format) this.agentDecoder = new InputDecoder(e.session.output_audio_format, RECORDING_RATE);
        this.interrupts = e.session.turn_detection?.interrupt_response ?? true;
        return;
      case 'response.audio.delta':
        return this.agentAudio(e.item_id, Buffer.from(e.delta, 'base64'));
      case 'input_audio_buffer.speech_started':
        if (this.interrupts) this.agent.cutAt(this.clock());
        return;
      case 'response.done':
        if (e.response.status === 'cancelled') this.agent.cutAt(this.clock());
        return;
      case 'conversation.item.truncated':
        return this.agent.cutItem(e.item_id, Math.round((e.audio_end_ms * RECORDING_RATE) / 1000), this.clock());
      default:
    }
  }

  /** A driver whose audio and client events are recorded on their way in (in order, as the driver takes them). */
  tapDriver(d: CallDriver): CallDriver {
    return {
      start: () => d.start(),
      onClientEvent: (e) => {
        this.clientEvent(e);
        return d.onClientEvent(e);
      },
      onAudio: (bytes) => {
        this.caller(bytes);
        d.onAudio(bytes);
      },
      ...(d.settled ? { settled: () => d.settled!() } : {}),
      close: (reason) => d.close(reason),
    };
  }

  /** A transport's audio sink whose pushes (chained audio that skips the delta events) are recorded. */
  tapSink(sink: AudioSink): AudioSink {
    return {
      push: (itemId, audio) => {
        this.agentAudio(itemId, audio);
        sink.push(itemId, audio);
      },
      finish: (itemId) => sink.finish(itemId),
    };
  }

  /** The call has ended: the WAV is made and stored (failures are logged, never thrown). */
  finish(): Promise<void> {
    this.finished ??= this.store().catch((err: Error) => this.o.log.warn({ err: err.message }, 'recording not stored'));
    return this.finished;
  }

  private async store(): Promise<void> {
    const started = this.now();
    if (this.o.live ?? true) this.agent.cutAt(this.clock());
    await Promise.all([closeStream(this.callerFile), closeStream(this.agentFile)]);
    try {
      if (this.failed) throw this.failed;
      const agentSamples = await layOutAgent(`${this.base}.agent`, `${this.base}.right`, this.agent.cuts);
      const wav = `${this.base}.wav`;
      const frames = Math.max(this.callerCursor, agentSamples);
      await writeStereoWav(`${this.base}.caller`, `${this.base}.right`, wav, frames);
      await this.o.store.put(this.o.callId, wav);
      this.o.log.info({ duration_ms: Math.round((frames * 1000) / RECORDING_RATE), took_ms: Math.round(this.now() - started) }, 'recording stored');
    } finally {
      await Promise.all(['caller', 'agent', 'right', 'wav'].map((ext) => rm(`${this.base}.${ext}`, { force: true })));
    }
  }
}

/** Creates the directory for the temporary files of recordings. */
export async function ensureDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
}

function writeSilence(out: WriteStream, samples: number): void {
  for (let left = samples; left > 0; left -= RECORDING_RATE) out.write(SILENCE.subarray(0, Math.min(left, RECORDING_RATE) * 2));
}

function closeStream(s: WriteStream): Promise<void> {
  return new Promise((resolve) => {
    if (s.closed) return resolve();
    s.once('close', () => resolve());
    s.end();
  });
}

/**
 * The agent channel as contiguous mono PCM16: each chunk at its place, cut to what was heard,
 * silence between. Positions only grow once cuts are applied, so this is one sequential pass.
 * Returns the channel's length in samples.
 */
async function layOutAgent(logPath: string, outPath: string, cuts: Cuts): Promise<number> {
  const log = await open(logPath, 'r');
  const out = createWriteStream(outPath);
  let cursor = 0;
  let seq = 0;
  try {
    const header = Buffer.alloc(RECORD_HEADER);
    let at = 0;
    for (;;) {
      const { bytesRead } = await log.read(header, 0, RECORD_HEADER, at);
      if (bytesRead < RECORD_HEADER) break;
      const chunk: AgentChunk = { seq: seq++, item: header.readUInt32LE(0), offset: header.readUInt32LE(4), pos: header.readUInt32LE(8), samples: header.readUInt32LE(12) };
      at += RECORD_HEADER;
      const keep = heardSamples(chunk, cuts);
      if (keep > 0) {
        const pos = Math.max(chunk.pos, cursor);
        const pcm = Buffer.alloc(keep * 2);
        await log.read(pcm, 0, pcm.length, at);
        writeSilence(out, pos - cursor);
        if (!out.write(pcm)) await new Promise<void>((r) => out.once('drain', () => r()));
        cursor = pos + keep;
      }
      at += chunk.samples * 2;
    }
  } finally {
    await log.close();
    await closeStream(out);
  }
  return cursor;
}

/** Interleaves the two mono channel files into a stereo WAV of `frames` frames, a second at a time. */
async function writeStereoWav(leftPath: string, rightPath: string, outPath: string, frames: number): Promise<void> {
  const [left, right] = await Promise.all([open(leftPath, 'r'), open(rightPath, 'r')]);
  const out = createWriteStream(outPath);
  try {
    out.write(wavHeader(frames, RECORDING_RATE, 2));
    const block = RECORDING_RATE;
    const l = Buffer.alloc(block * 2);
    const r = Buffer.alloc(block * 2);
    for (let f = 0; f < frames; f += block) {
      const n = Math.min(block, frames - f);
      const [lr, rr] = await Promise.all([left.read(l, 0, n * 2, f * 2), right.read(r, 0, n * 2, f * 2)]);
      if (!out.write(interleave(l.subarray(0, lr.bytesRead), r.subarray(0, rr.bytesRead), n))) await new Promise<void>((res) => out.once('drain', () => res()));
    }
  } finally {
    await Promise.all([left.close(), right.close()]);
    await closeStream(out);
  }
  if ((await stat(outPath)).size !== 44 + frames * 4) throw new Error('recording WAV has the wrong size');
}
