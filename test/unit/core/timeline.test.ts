/**
 * The text timeline (GET /v1/calls/:id/logs?format=text, `voice-agent logs [--follow]`): lines in
 * time order, a wait column that is the difference of the queued and started times printed, the
 * follow-mode summary after the turn's last entry, and "1 turn".
 */
import { describe, expect, it } from 'vitest';
import type { StageLogEntry } from '../../../src/contracts/logs';
import { FollowTimeline, formatTimeline } from '../../../src/core/waterfall';

const T0 = Date.UTC(2026, 0, 1);

function entry(at: number, stage: StageLogEntry['stage'], event: StageLogEntry['event'], data: Record<string, unknown> = {}, turn: string | null = 'turn_a'): StageLogEntry {
  return { ts: T0 + at, call_id: 'call_1', turn_id: turn, stage, event, duration_ms: null, attempt: 1, worker: 'w', data };
}

/** One turn as the processes write it: the worker's `started` reaches the log before the gateway's `queued`. */
const TURN: StageLogEntry[] = [
  entry(0, 'vad', 'completed'),
  entry(40, 'stt', 'started', { queue_wait_ms: 3 }), // the worker measured from the job's timestamp
  entry(25, 'stt', 'queued'),
  entry(140, 'stt', 'completed'),
  entry(150, 'llm', 'queued'),
  entry(162, 'llm', 'started', { queue_wait_ms: 9 }),
  entry(300, 'llm', 'first_output'),
  entry(320, 'tts', 'started', { seq: 0, queue_wait_ms: 7 }),
  entry(400, 'tts', 'first_output', { seq: 0 }),
  entry(410, 'gateway', 'first_output'),
  entry(900, 'gateway', 'completed'),
  entry(950, 'tts', 'completed', { seq: 0 }), // the worker's last entry, after the gateway's
];

/** Seconds since the first entry, from each entry line (`+0.025s`). */
function times(text: string): number[] {
  return [...text.matchAll(/^\s*\+(\d+\.\d{3})s/gm)].map((m) => Number(m[1]));
}

/** The wait column (ms) of the line for `stage started`. */
function waitOf(text: string, stage: string): string | undefined {
  return text.split('\n').find((l) => new RegExp(`\\b${stage}\\s+started\\b`).test(l))?.match(/started\s+(?:\S+ms\s+)?(\d+ms)/)?.[1];
}

describe('text timeline', () => {
  it('prints the entries in time order, whatever order they were written in', () => {
    const t = times(formatTimeline(TURN));
    expect(t).toHaveLength(TURN.length);
    expect(t).toEqual([...t].sort((a, b) => a - b));
    expect(formatTimeline(TURN).indexOf('stt      queued')).toBeLessThan(formatTimeline(TURN).indexOf('stt      started'));
  });

  it('shows as wait the time from the queued line to the started line', () => {
    const text = formatTimeline(TURN);
    expect(waitOf(text, 'stt')).toBe('15ms'); // 40 - 25, not the worker's 3
    expect(waitOf(text, 'llm')).toBe('12ms');
    // No queued line for the TTS job: what the worker measured.
    expect(waitOf(text, 'tts')).toBe('7ms');
  });

  it('says "1 turn", "2 turns", and puts each summary after its turn\'s last entry', () => {
    const one = formatTimeline(TURN);
    expect(one.split('\n')[0]).toMatch(/· 12 entries · 1 turn · 0\.950s$/);
    const lines = one.trimEnd().split('\n');
    expect(lines.at(-1)).toMatch(/^══ T1\s+first audio 410ms/);
    expect(lines.at(-2)).toMatch(/tts\s+completed/);
    const two = formatTimeline([...TURN, entry(1000, 'vad', 'completed', {}, 'turn_b')]);
    expect(two.split('\n')[0]).toContain('· 2 turns ·');
  });

  it('in follow mode prints the summary after the turn\'s last entry, once the log moves on or ends', () => {
    const follow = new FollowTimeline();
    const out: string[] = [];
    for (const e of TURN) out.push(...follow.push(e));
    // The gateway ended the turn, but the TTS worker's entry came after it: no summary yet.
    expect(out.some((l) => l.startsWith('══'))).toBe(false);
    out.push(...follow.push(entry(1200, 'vad', 'completed', {}, 'turn_b')));
    const summary = out.findIndex((l) => l.startsWith('══ T1'));
    expect(summary).toBeGreaterThan(out.findIndex((l) => /tts\s+completed/.test(l)));
    expect(summary).toBeLessThan(out.findIndex((l) => l.startsWith('── T2')));
    // The second turn ends with the stream: its summary is owed at the end.
    out.push(...follow.push(entry(1900, 'gateway', 'completed', {}, 'turn_b')));
    expect(out.filter((l) => l.startsWith('══ T2'))).toEqual([]);
    expect(follow.end()).toEqual([expect.stringMatching(/^══ T2/)]);
    expect(follow.end()).toEqual([]);
  });

  it('computes the follow-mode wait from the queued line too', () => {
    const follow = new FollowTimeline();
    const lines = [entry(0, 'llm', 'queued'), entry(30, 'llm', 'started', { queue_wait_ms: 2 })].flatMap((e) => follow.push(e));
    expect(waitOf(lines.join('\n'), 'llm')).toBe('30ms');
  });
});
