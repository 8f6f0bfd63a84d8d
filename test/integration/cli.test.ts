/**
 * The CLI (bin/voice-agent.mjs, as `npx voice-agent` runs it) against a live service with the fake
 * provider: a WAV file played into a new call, the stage timeline printed and followed, and
 * business configs round-tripped through JSON files.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseWav } from '../../src/core/audio/formats';
import { fixturePath } from '../fixtures';
import { DEFAULT_TRANSCRIPT } from '../fakes/script';
import { ADMIN_KEY, SIMPLE_BUSINESS, startService, type TestService } from '../helpers/service';

const BIN = join(process.cwd(), 'bin', 'voice-agent.mjs');

let svc: TestService;
let dir: string;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI to completion; `until` ends a long-running command (SIGINT) once stdout matches. */
function cli(args: string[], o: { until?: RegExp } = {}): Promise<Run> {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: dir,
    env: { ...process.env, VOICE_AGENT_URL: svc.url, VOICE_AGENT_KEY: ADMIN_KEY },
  });
  let stdout = '';
  let stderr = '';
  let interrupted = false;
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
    // Once: a second Ctrl-C kills the CLI outright (as it should), which is not what is tested here.
    if (!interrupted && o.until?.test(stdout)) {
      interrupted = true;
      child.kill('SIGINT');
    }
  });
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

let callId = '';

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'va-cli-'));
  svc = await startService();
  await svc.api('/v1/businesses/acme', { method: 'PUT', json: SIMPLE_BUSINESS });
});
afterAll(async () => {
  await svc?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('voice-agent CLI', () => {
  it('plays a WAV file into a new call and writes the reply audio and the transcript, showing progress', async () => {
    const r = await cli(['call', 'acme', fixturePath('hours_16k.wav'), '--speed', '0', '--out', 'reply.wav', '--transcript', 'reply.txt']);
    expect(r.stderr).toContain('streaming');
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/streaming [\d.]+\/[\d.]+ s 100%/);
    expect(r.stdout).toContain(`user: ${DEFAULT_TRANSCRIPT}`);
    expect(r.stdout).toContain('assistant: You said');
    expect(readFileSync(join(dir, 'reply.txt'), 'utf8')).toBe(r.stdout);
    const reply = parseWav(readFileSync(join(dir, 'reply.wav')));
    expect(reply.sampleRate).toBe(24_000);
    expect(reply.pcm.length).toBeGreaterThan(24_000 / 2);
    callId = /call (call_\w+)/.exec(r.stderr)?.[1] ?? '';
    expect(callId).not.toBe('');
  });

  it('prints the stage timeline of a call, aligned, with a summary line per turn', async () => {
    expect(callId).not.toBe('');
    const r = await cli(['logs', callId]);
    expect(r.code).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines[1]).toMatch(/time\s+turn stage\s+event\s+took\s+wait\s+details/);
    const sttDone = lines.find((l) => / stt +completed /.test(l));
    expect(sttDone).toMatch(/^\s+\+\d+\.\d{3}s  T1   stt      completed\s+\d+ms\s+transcript=/);
    expect(r.stdout).toMatch(/══ T1\s+first audio \d+ms = stt \d+ \+ llm \d+ \+ tts \d+ \+ send \d+ │ done \d+ms │ completed/);
  });

  it('follows the stage log live until interrupted', async () => {
    const r = await cli(['logs', callId, '--follow'], { until: /══ T1/ });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(' gateway  completed');
    expect(r.stdout).toMatch(/══ T1\s+first audio/);
  });

  it('lists, gets and puts business configs through JSON files', async () => {
    const all = await cli(['businesses', 'list', '--out', 'all.json']);
    expect(all.code).toBe(0);
    const map = JSON.parse(readFileSync(join(dir, 'all.json'), 'utf8')) as Record<string, { name: string; session: { voice: string } }>;
    expect(map.acme?.name).toBe('Acme support');
    expect(map.acme).not.toHaveProperty('created_at');

    map.acme!.session.voice = 'echo';
    map.beta = { name: 'Beta corp', session: { voice: 'sage', instructions: 'Be brief.' } } as never;
    writeFileSync(join(dir, 'all.json'), JSON.stringify(map));
    const put = await cli(['businesses', 'put', 'all.json']);
    expect(put.code).toBe(0);
    expect(put.stdout).toContain('put acme: Acme support (chained, voice echo');
    expect(put.stdout).toContain('put beta: Beta corp');

    const got = await cli(['businesses', 'get', 'beta']);
    expect(JSON.parse(got.stdout)).toMatchObject({ name: 'Beta corp', session: { voice: 'sage' } });
    const list = await cli(['businesses', 'list']);
    expect(list.stdout).toMatch(/^id\s+mode\s+voice\s+tools\s+name$/m);
    expect(list.stdout).toMatch(/^beta\s+chained\s+sage\s+0\s+Beta corp$/m);

    writeFileSync(join(dir, 'bad.json'), JSON.stringify({ session: { voice: 'nope', instructions: 'x' } }));
    const bad = await cli(['businesses', 'put', 'acme', 'bad.json']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('session.voice');
  });

  it('says what went wrong when the service is not reachable', async () => {
    const r = await cli(['businesses', 'list', '--url', 'http://127.0.0.1:1']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('Cannot reach http://127.0.0.1:1');
  });
});
