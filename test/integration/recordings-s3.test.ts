/**
 * Recordings in an S3-compatible bucket (s3rver, path-style) shared by two gateways: a call
 * recorded on one is read and deleted through the other.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import S3rver from 's3rver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pcm16ToBytes } from '../../src/core/audio/pcm';
import { recordings } from '../../src/recording';
import { connectCall, newCall, spokenTurn } from '../helpers/calls';
import { SIMPLE_BUSINESS, startPeerGateway, startService, type TestService } from '../helpers/service';

const dir = mkdtempSync(join(tmpdir(), 'recordings-s3-'));
let s3: S3rver;
let svc: TestService;
let peer: Awaited<ReturnType<typeof startPeerGateway>>;

beforeAll(async () => {
  s3 = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory: join(dir, 's3'), configureBuckets: [{ name: 'calls', configs: [] }] });
  const { port } = await s3.run();
  svc = await startService({
    env: {
      RECORDINGS_DIR: join(dir, 'local'),
      RECORDINGS_S3_BUCKET: 'calls',
      RECORDINGS_S3_ENDPOINT: `http://127.0.0.1:${port}`,
      RECORDINGS_S3_ACCESS_KEY_ID: 'S3RVER',
      RECORDINGS_S3_SECRET_ACCESS_KEY: 'S3RVER',
      RECORDINGS_S3_FORCE_PATH_STYLE: '1',
    },
  });
  peer = await startPeerGateway(svc);
  await svc.api('/v1/businesses/rec', { method: 'PUT', json: { ...SIMPLE_BUSINESS, recording: { enabled: true } } });
});
afterAll(async () => {
  await peer?.stop();
  await svc?.stop();
  await s3?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('recordings in S3', () => {
  it('are written by one gateway, read and deleted through another, and expire with the sweep', async () => {
    const call = await newCall(svc, 'rec');
    const c = await connectCall(svc, call.id);
    c.appendAudio(pcm16ToBytes(spokenTurn()));
    await c.waitFor('response.done');
    await svc.api(`/v1/calls/${call.id}`, { method: 'DELETE' });
    c.close();
    await svc.api(`/v1/calls/${call.id}/recording`, { method: 'HEAD' }); // waits for the end here
    const res = await peer.api(`/v1/calls/${call.id}/recording`);
    expect(res.status).toBe(200);
    const wav = Buffer.from(await res.arrayBuffer());
    expect(wav.toString('ascii', 0, 4)).toBe('RIFF');
    expect(wav.readUInt16LE(22)).toBe(2);
    expect(wav.length).toBe(44 + wav.readUInt32LE(40));
    expect(wav.readUInt32LE(40)).toBeGreaterThan(spokenTurn().length * 4 * 0.99);
    // Nothing was left on the local disk.
    expect((await recordings(svc.services).store.get(call.id))?.size).toBe(wav.length);
    expect((await peer.api(`/v1/calls/${call.id}/recording`, { method: 'DELETE' })).status).toBe(204);
    expect((await svc.api(`/v1/calls/${call.id}/recording`)).status).toBe(404);
    expect((await peer.api(`/v1/calls/${call.id}/recording`, { method: 'DELETE' })).status).toBe(404);
  });

  it('sweeps recordings older than CALL_TTL_S', async () => {
    const call = await newCall(svc, 'rec');
    const c = await connectCall(svc, call.id);
    c.appendAudio(pcm16ToBytes(spokenTurn()));
    await c.waitFor('response.done');
    await svc.api(`/v1/calls/${call.id}`, { method: 'DELETE' });
    c.close();
    expect((await svc.api(`/v1/calls/${call.id}/recording`)).status).toBe(200);
    const rec = recordings(svc.services);
    expect(await rec.sweep(Date.now())).toBe(0); // younger than the TTL: kept
    expect(await rec.sweep(Date.now() + svc.config.callTtlS * 1000 + 60_000)).toBe(1);
    expect(await rec.store.get(call.id)).toBeNull();
  });
});
