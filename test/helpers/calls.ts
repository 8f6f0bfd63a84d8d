/** Shared steps of call tests: spoken audio, creating a call and connecting its WebSocket. */
import { readFileSync } from 'node:fs';
import { parseWav } from '../../src/core/audio/formats';
import { resample } from '../../src/core/audio/resample';
import { fixturePath } from '../fixtures';
import { RealtimeClient } from './realtime-client';
import { ADMIN_KEY, type TestService } from './service';

/** A spoken fixture ("What are your opening hours?" by default) at `rate`, followed by `silenceMs` of silence so the VAD ends the turn. */
export function spokenTurn(rate = 24_000, silenceMs = 1_000, fixture = 'hours_16k.wav'): Int16Array {
  const { pcm, sampleRate } = parseWav(readFileSync(fixturePath(fixture)));
  const speech = resample(pcm, sampleRate, rate);
  const out = new Int16Array(speech.length + (rate * silenceMs) / 1000);
  out.set(speech);
  return out;
}

export async function newCall(svc: TestService, businessId: string, session?: Record<string, unknown>) {
  const res = await svc.api('/v1/calls', { method: 'POST', json: { business_id: businessId, ...(session ? { session } : {}) } });
  if (res.status !== 201) throw new Error(`POST /v1/calls: ${res.status} ${await res.text()}`);
  return (await res.json()) as { id: string; client_secret: { value: string } };
}

export async function connectCall(svc: TestService, callId: string, dialect: 'beta' | 'ga' = 'beta') {
  const c = await RealtimeClient.connect(`${svc.wsUrl}/v1/calls/${callId}/stream?dialect=${dialect}`, { key: ADMIN_KEY });
  await c.waitFor('session.created');
  return c;
}

/** The chat-completions requests the fake provider received, newest last. */
export function chatRequests(svc: TestService) {
  return svc.fake.requests.filter((r) => r.path === '/v1/chat/completions').map((r) => r.body as { messages: { role: string; content: string | null; tool_calls?: unknown[]; tool_call_id?: string }[] });
}
