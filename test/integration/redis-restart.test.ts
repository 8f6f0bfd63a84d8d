/**
 * Redis restarts under a live call (a private, persistent redis-server; the shared one is never
 * touched): the service reconnects by itself, the call goes on, and a new call works — no
 * restart of the service.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { pcm16ToBytes } from '../../src/core/audio/pcm';
import { connectCall, newCall, spokenTurn } from '../helpers/calls';
import { PrivateRedis } from '../helpers/redis-server';
import { SIMPLE_BUSINESS, startService, type TestService } from '../helpers/service';

let redis: PrivateRedis;
let svc: TestService;
beforeAll(async () => {
  redis = await PrivateRedis.start();
  svc = await startService({ env: { REDIS_URL: redis.url } });
  await svc.api('/v1/businesses/acme', { method: 'PUT', json: SIMPLE_BUSINESS });
});
afterAll(async () => {
  await svc?.stop();
  await redis?.stop();
});

it('keeps a live call going across a Redis crash and restart, and takes new calls after it', async () => {
  const call = await newCall(svc, 'acme');
  const c = await connectCall(svc, call.id);
  c.appendAudio(pcm16ToBytes(spokenTurn()));
  expect((await c.waitFor('response.done')).response.status).toBe('completed');

  await redis.kill();
  // While Redis is down the HTTP API says so instead of hanging forever...
  const ready = await svc.api('/readyz', { key: null });
  expect(ready.status).toBe(503);
  await redis.up();

  // ...and once it is back, the same call answers its next turn.
  const mark = c.events.length;
  c.appendAudio(pcm16ToBytes(spokenTurn()));
  const done = await c.waitFor('response.done', mark, 30_000);
  expect(done.response.status).toBe('completed');
  expect((await svc.api('/readyz', { key: null })).status).toBe(200);
  const again = await newCall(svc, 'acme');
  expect(again.id).toMatch(/^call_/);
  c.close();
});
