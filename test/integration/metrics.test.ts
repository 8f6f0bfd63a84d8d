/**
 * GET /metrics: Prometheus text from prom-client, and the numbers move when a call runs — stage
 * latencies fed from the stage log, the turn waterfall, queue depth and active calls from Redis.
 */
import { describe, expect, it } from 'vitest';
import { pcm16ToBytes } from '../../src/core/audio/pcm';
import { connectCall, newCall, spokenTurn } from '../helpers/calls';
import { serviceWithAcme } from '../helpers/service';

const svc = serviceWithAcme();

/** Scrapes /metrics (no key: it is open like /healthz) into `name{labels}` → value. */
async function scrape(): Promise<Map<string, number>> {
  const res = await svc.api('/metrics', { key: null });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toContain('text/plain');
  const out = new Map<string, number>();
  for (const line of (await res.text()).split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    out.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return out;
}

const value = (m: Map<string, number>, key: string) => m.get(key) ?? 0;

describe('GET /metrics', () => {
  it('exposes every metric family the operators dashboard reads, before any call', async () => {
    const res = await svc.api('/metrics', { key: null });
    const text = await res.text();
    for (const family of [
      'voice_agent_stage_queue_wait_seconds',
      'voice_agent_stage_processing_seconds',
      'voice_agent_stage_time_to_first_output_seconds',
      'voice_agent_turn_latency_seconds',
      'voice_agent_active_calls',
      'voice_agent_queue_depth',
      'voice_agent_stage_failures_total',
      'voice_agent_stage_retries_total',
      'voice_agent_barge_ins_total',
      'voice_agent_tool_call_duration_seconds',
      'voice_agent_tool_calls_total',
      'voice_agent_open_websockets',
      'voice_agent_process_cpu_user_seconds_total',
    ]) {
      expect(text).toContain(`# TYPE ${family} `);
    }
  });

  it('moves after a spoken turn: stage latencies, the turn waterfall, active calls and open sockets', async () => {
    const before = await scrape();
    const call = await newCall(svc, 'acme');
    const c = await connectCall(svc, call.id, 'ga');
    const during = await scrape();
    expect(value(during, 'voice_agent_active_calls{mode="chained"}')).toBe(value(before, 'voice_agent_active_calls{mode="chained"}') + 1);
    expect(value(during, 'voice_agent_open_websockets{route="stream"}')).toBe(1);

    c.appendAudio(pcm16ToBytes(spokenTurn()));
    const done = await c.waitFor('response.done');
    expect(done.response.status).toBe('completed');
    // The gateway's `completed` entry is written after response.done is sent; the log says when it is in.
    await expect.poll(async () => (await (await svc.api(`/v1/calls/${call.id}/logs`)).json()).data.some((e: { stage: string; event: string }) => e.stage === 'gateway' && e.event === 'completed')).toBe(true);

    const after = await scrape();
    const moved = (key: string) => value(after, key) - value(before, key);
    expect(moved('voice_agent_stage_queue_wait_seconds_count{stage="stt"}')).toBe(1);
    expect(moved('voice_agent_stage_queue_wait_seconds_count{stage="llm"}')).toBe(1);
    expect(moved('voice_agent_stage_queue_wait_seconds_count{stage="tts"}')).toBeGreaterThanOrEqual(1);
    expect(moved('voice_agent_stage_processing_seconds_count{stage="stt",outcome="completed"}')).toBe(1);
    expect(moved('voice_agent_stage_processing_seconds_count{stage="llm",outcome="completed"}')).toBe(1);
    expect(moved('voice_agent_stage_time_to_first_output_seconds_count{stage="llm"}')).toBe(1);
    expect(moved('voice_agent_stage_time_to_first_output_seconds_count{stage="gateway"}')).toBe(1);
    expect(moved('voice_agent_stage_time_to_first_output_seconds_sum{stage="gateway"}')).toBeGreaterThan(0);
    expect(moved('voice_agent_turns_total{outcome="completed"}')).toBe(1);
    await expect.poll(async () => value(await scrape(), 'voice_agent_turn_latency_seconds_count{mark="first_audio_sent"}') - value(before, 'voice_agent_turn_latency_seconds_count{mark="first_audio_sent"}')).toBe(1);
    const final = await scrape();
    for (const mark of ['stt_done', 'llm_first_token', 'tts_first_audio', 'response_done']) {
      expect(value(final, `voice_agent_turn_latency_seconds_count{mark="${mark}"}`) - value(before, `voice_agent_turn_latency_seconds_count{mark="${mark}"}`)).toBe(1);
    }
    expect(final.has('voice_agent_queue_depth{stage="stt",state="waiting"}')).toBe(true);

    c.close();
    await expect.poll(async () => value(await scrape(), 'voice_agent_active_calls{mode="chained"}')).toBe(value(before, 'voice_agent_active_calls{mode="chained"}'));
    expect(value(await scrape(), 'voice_agent_open_websockets{route="stream"}')).toBe(0);
  });

  it('counts a barge-in when the caller speaks over the answer', async () => {
    const before = await scrape();
    const call = await newCall(svc, 'acme');
    const c = await connectCall(svc, call.id, 'ga');
    c.appendAudio(pcm16ToBytes(spokenTurn()));
    await c.waitFor('response.output_audio.delta');
    c.appendAudio(pcm16ToBytes(spokenTurn()));
    await c.waitFor((e) => e.type === 'response.done' && e.response.status === 'cancelled');
    await expect.poll(async () => value(await scrape(), 'voice_agent_barge_ins_total{mode="chained"}') - value(before, 'voice_agent_barge_ins_total{mode="chained"}')).toBeGreaterThanOrEqual(1);
    const after = await scrape();
    expect(value(after, 'voice_agent_cancellations_total{stage="gateway",reason="turn_detected"}')).toBeGreaterThan(value(before, 'voice_agent_cancellations_total{stage="gateway",reason="turn_detected"}'));
    c.close();
  });
});
