/**
 * What only a Redis Cluster has (docs/DESIGN.md §11): /readyz reports the cluster, call keys spread over
 * the masters, and a failover of the master holding a live call's slot costs that call at most a
 * reconnect — the turn in flight still completes, and so does the next. Runs in the `cluster`
 * project only (vitest.config.ts), whose other files are the usual integration tests on the cluster.
 */
import { describe, expect, it } from 'vitest';
import { pcm16ToBytes } from '../../src/core/audio/pcm';
import { isCluster, masters, type Cluster } from '../../src/adapters/redis';
import { connectCall, newCall, spokenTurn } from '../helpers/calls';
import { clusterInfo, nodeConnection, scanKeys, until } from '../helpers/redis-cluster';
import { serviceWithAcme } from '../helpers/service';

const svc = serviceWithAcme();

const ANSWER = 'We are open from nine to five on weekdays. On Saturdays we open at ten. Is there anything else?';

function cluster(): Cluster {
  const r = svc.services.redis;
  if (!isCluster(r)) throw new Error('the cluster project runs the service on a Redis Cluster (TEST_REDIS_CLUSTER_NODES)');
  return r;
}

describe('on a Redis Cluster', () => {
  it('/readyz reports the cluster: state ok, every master reachable', async () => {
    const res = await svc.api('/readyz', { key: null });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: 'ready', redis: 'ok', redis_cluster: { state: 'ok', masters: 3, masters_reachable: 3, slots_ok: 16384 } });
  });

  it('spreads calls over every master, each call’s keys in one slot', async () => {
    const ids: string[] = [];
    // 30 calls: the chance that one of 3 masters holds none of them is 3·(2/3)^30 ≈ 2e-5.
    for (let i = 0; i < 30; i++) {
      const { id } = await newCall(svc, 'acme');
      ids.push(id);
      if (i >= 3) expect((await svc.api(`/v1/calls/${id}`, { method: 'DELETE' })).status).toBe(200);
    }
    // Three of them get a real turn (history, transcript, stage log, output stream, ...).
    for (const id of ids.slice(0, 3)) {
      svc.fake.script.chat.push({ text: ANSWER });
      const c = await connectCall(svc, id);
      c.appendAudio(pcm16ToBytes(spokenTurn()));
      expect((await c.waitFor('response.done')).response.status).toBe('completed');
      c.close();
      expect((await svc.api(`/v1/calls/${id}`, { method: 'DELETE' })).status).toBe(200);
    }
    const perMaster = await Promise.all(masters(cluster()).map((node) => scanKeys(node, `${svc.config.redisPrefix}:call:{*`)));
    expect(perMaster).toHaveLength(3);
    for (const keys of perMaster) expect(keys.length).toBeGreaterThan(0);
    // Every key of a call sits on one master, in its call's slot.
    const all = await scanKeys(cluster(), `${svc.config.redisPrefix}:call:{${ids[0]}}*`);
    expect(all.length).toBeGreaterThan(3);
    const slots = new Set(await Promise.all(all.map((k) => cluster().cluster('KEYSLOT', k))));
    expect(slots.size).toBe(1);
    expect(perMaster.filter((keys) => keys.some((k) => k.includes(`{${ids[0]}}`)))).toHaveLength(1);
  });

  it('keeps data that spans slots consistent: businesses, their keys, call lists', async () => {
    // The business index, the records, the key hashes and the call indexes hash to different slots.
    const biz = { name: 'Spread', session: { instructions: 'Be brief.' }, limits: { requests_per_minute: 2 } };
    for (const id of ['spread-a', 'spread-b', 'spread-c']) expect((await svc.api(`/v1/businesses/${id}`, { method: 'PUT', json: biz })).status).toBe(201);
    const listed = (await (await svc.api('/v1/businesses')).json()) as { data: { id: string }[] };
    expect(listed.data.map((b) => b.id)).toEqual(expect.arrayContaining(['acme', 'spread-a', 'spread-b', 'spread-c']));
    const created = (await (await svc.api('/v1/businesses/spread-a/keys', { method: 'POST' })).json()) as { id: string; key: string };
    // The per-key rate limit (its Lua script on one key) counts on the cluster: the third request in the minute is refused.
    for (const status of [200, 200, 429]) expect((await svc.api('/v1/businesses/spread-a', { key: created.key })).status).toBe(status);
    const calls = [await newCall(svc, 'acme'), await newCall(svc, 'acme')];
    const page = (await (await svc.api('/v1/calls?business_id=acme')).json()) as { data: { id: string }[] };
    expect(page.data.map((c) => c.id)).toEqual(expect.arrayContaining(calls.map((c) => c.id)));
    for (const c of calls) await svc.api(`/v1/calls/${c.id}`, { method: 'DELETE' });
    expect((await svc.api(`/v1/businesses/spread-a/keys/${created.id}`, { method: 'DELETE' })).status).toBe(200);
    expect((await svc.api('/v1/businesses/spread-a', { key: created.key })).status).toBe(401); // revoked (401 before the limit)
    expect((await svc.api('/v1/businesses/spread-b', { method: 'DELETE' })).status).toBe(200);
    expect((await svc.api('/v1/businesses/spread-b')).status).toBe(404);
    const after = (await (await svc.api('/v1/businesses')).json()) as { data: { id: string }[] };
    expect(after.data.map((b) => b.id)).not.toContain('spread-b');
  });

  it('a failover of the master holding a live call costs at most a reconnect: the turn in flight and the next complete', async () => {
    // The second question follows the first answer at once: not a barge-in, so history keeps both answers whole.
    const call = await newCall(svc, 'acme', { turn_detection: { interrupt_response: false } });
    const c = await connectCall(svc, call.id);
    // The master serving the call's slot, and one of its replicas (ioredis' slot table: [master, ...replicas]), which CLUSTER FAILOVER promotes.
    const slot = Number(await cluster().cluster('KEYSLOT', svc.services.keys.call(call.id)));
    const [, replicaKey] = cluster().slots[slot]!;
    const replicaPort = Number(replicaKey!.split(':')[1]);

    svc.fake.script.chat.push({ text: ANSWER }, { text: 'You are welcome, goodbye.' });
    // The answer is still being written while the master goes (~9 s of tokens; sped up after).
    svc.fake.script.delays.llmTokenMs = 400;
    c.appendAudio(pcm16ToBytes(spokenTurn()));
    await c.waitFor('response.audio_transcript.delta');

    const replica = nodeConnection(replicaPort);
    try {
      await replica.cluster('FAILOVER');
      await until('the replica promoted', async () => (await replica.info('replication')).includes('role:master'));
      await until('cluster_state:ok after the failover', async () => (await clusterInfo(replica)).cluster_state === 'ok');
    } finally {
      replica.disconnect();
    }

    expect(c.events.filter((e) => e.type === 'response.done')).toEqual([]); // it was in flight
    svc.fake.script.delays.llmTokenMs = 0;
    const first = await c.waitFor('response.done', 0, 20_000);
    expect(first.response.status).toBe('completed');
    const mark = c.events.length;
    c.appendAudio(pcm16ToBytes(spokenTurn()));
    const next = await c.waitFor('response.done', mark, 20_000);
    expect(next.response.status).toBe('completed');
    // Each turn's answer arrived whole and once, and the history holds both turns.
    const transcripts = c.events.filter((e) => e.type === 'response.audio_transcript.done').map((e) => e.transcript as string);
    expect(transcripts).toEqual([ANSWER, 'You are welcome, goodbye.']);
    const history = await svc.services.calls.history(call.id);
    expect(history.map((h) => h.message.role)).toEqual(['user', 'assistant', 'user', 'assistant']);
    c.close();
  });
});
