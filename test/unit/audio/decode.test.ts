import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { AudioDecodeError, decodeAudioFile } from '../../../src/adapters/audio-decode';
import { fixturePath, loadManifest, loadWavFixture } from '../../fixtures/index';

async function decodeError(p: Promise<unknown>): Promise<AudioDecodeError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AudioDecodeError);
  return err as AudioDecodeError;
}

describe('decodeAudioFile (ffmpeg through prism-media)', () => {
  const seconds = loadManifest()['hours_16k.wav']!.durationMs / 1000;

  it.each(['hours.mp3', 'hours.ogg', 'hours.webm', 'hours_24k.wav', 'hours_8k.wav'])('decodes %s to 16 kHz mono of the right length', async (name) => {
    const pcm = await decodeAudioFile(readFileSync(fixturePath(name)));
    // mp3 adds encoder delay/padding; everything else is within a few ms.
    expect(Math.abs(pcm.length / 16000 - seconds)).toBeLessThan(0.08);
  });

  it('decodes a 16 kHz WAV to exactly its samples', async () => {
    const { pcm } = loadWavFixture('hours_16k.wav');
    expect(await decodeAudioFile(readFileSync(fixturePath('hours_16k.wav')))).toEqual(pcm);
  });

  it('decodes at another rate when asked', async () => {
    const pcm = await decodeAudioFile(readFileSync(fixturePath('hours.ogg')), { sampleRate: 24000 });
    expect(Math.abs(pcm.length / 24000 - seconds)).toBeLessThan(0.08);
  });

  it('rejects an empty file as empty_input', async () => {
    expect((await decodeError(decodeAudioFile(Buffer.alloc(0)))).code).toBe('empty_input');
  });

  it('rejects text as invalid_input with ffmpeg’s reason in the message', async () => {
    const err = await decodeError(decodeAudioFile(Buffer.from('{"this": "is json, not audio"}')));
    expect(err.code).toBe('invalid_input');
    expect(err.message).toMatch(/not audio ffmpeg can decode/);
  });

  it('rejects a truncated mp3 without hanging or crashing', async () => {
    const cut = readFileSync(fixturePath('hours.mp3')).subarray(0, 300);
    expect(['invalid_input', 'no_audio']).toContain((await decodeError(decodeAudioFile(cut))).code);
  });

  it('rejects random bytes as invalid_input', async () => {
    const noise = Buffer.from(Array.from({ length: 20000 }, (_, i) => (i * 2654435761) >>> 24));
    expect(['invalid_input', 'no_audio']).toContain((await decodeError(decodeAudioFile(noise))).code);
  });

  it('gives up with a timeout error and kills ffmpeg when decoding takes too long', async () => {
    const err = await decodeError(decodeAudioFile(readFileSync(fixturePath('hours.mp3')), { timeoutMs: 1 }));
    expect(err.code).toBe('timeout');
  });

  it('stops when its AbortSignal fires', async () => {
    const ac = new AbortController();
    const p = decodeAudioFile(readFileSync(fixturePath('hours.mp3')), { signal: ac.signal });
    ac.abort();
    expect((await decodeError(p)).code).toBe('aborted');
  });

  it('refuses audio longer than maxDurationS', async () => {
    const err = await decodeError(decodeAudioFile(readFileSync(fixturePath('hours_16k.wav')), { maxDurationS: 1 }));
    expect(err.code).toBe('too_long');
  });
});
