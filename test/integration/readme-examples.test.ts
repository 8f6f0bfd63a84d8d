/**
 * The README stays true because CI says so: every ```bash block of README.md runs, as printed, in
 * order, against a fresh `npm start` the way a newcomer starts it (no provider key, so the local
 * provider; the seeded `demo` business and local admin key). A block that cannot run here (it
 * needs a real key, Twilio, a second terminal, placeholder ids…) says so in the README itself with
 * `<!-- readme-test: skip (reason) -->` on the line before its fence.
 *
 * The blocks become one script (shell variables like $ADMIN and $CALL carry over, as in one
 * terminal), run with `set -euo pipefail`; `curl` is wrapped with `--fail-with-body` so an HTTP
 * error fails the example even where the README's curl has no `-f`. The only change to the text is
 * the port: `:8080` becomes the free port the service was started on.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, spawnProcess, type ServiceProcess } from '../helpers/processes';
import { scanKeys } from '../helpers/redis-cluster';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const SKIP = /^<!--\s*readme-test:\s*skip\s*\((.+)\)\s*-->$/;

interface Block {
  /** 1-based line of the opening fence. */
  line: number;
  /** The `## ` section it is in. */
  section: string;
  code: string;
  /** Why it does not run here (from the README's skip comment), or undefined when it runs. */
  skip?: string;
}

/** Every ```bash block of the README, with the skip reason written just before its fence. */
function bashBlocks(markdown: string): Block[] {
  const lines = markdown.split('\n');
  const blocks: Block[] = [];
  let section = '';
  for (let i = 0; i < lines.length; i++) {
    if (lines[i]!.startsWith('## ')) section = lines[i]!.slice(3).trim();
    const fence = /^(`{3,})(\S*)/.exec(lines[i]!);
    if (!fence) continue;
    const close = lines.findIndex((l, j) => j > i && l.startsWith(fence[1]!) && l.trim() === fence[1]);
    if (close < 0) throw new Error(`README.md:${i + 1}: unclosed fence`);
    if (fence[2] === 'bash') {
      let k = i - 1;
      while (k >= 0 && lines[k]!.trim() === '') k--;
      const skip = k >= 0 ? SKIP.exec(lines[k]!.trim())?.[1] : undefined;
      blocks.push({ line: i + 1, section, code: lines.slice(i + 1, close).join('\n'), skip });
    }
    i = close;
  }
  return blocks;
}

const blocks = bashBlocks(readFileSync(join(ROOT, 'README.md'), 'utf8'));
const runnable = blocks.filter((b) => b.skip === undefined);

/** The environment a newcomer's shell has: no provider, admin or Twilio variable of ours. */
function newcomerEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, HOME: process.env.HOME, LANG: process.env.LANG ?? 'C.UTF-8', ...extra };
}

describe('README examples, as printed, against a fresh npm start', () => {
  const prefix = `test-readme-${randomBytes(4).toString('hex')}`;
  const work = mkdtempSync(join(tmpdir(), 'readme-examples-'));
  let port = 0;
  let service: ServiceProcess | undefined;
  let serviceOut = '';
  let scriptGroup: number | undefined;

  beforeAll(async () => {
    port = await freePort();
    // `npm start` is `tsx src/main.ts`; under `node --import tsx` a signal reaches the service itself.
    service = spawnProcess(
      'npm start',
      [join('src', 'main.ts')],
      newcomerEnv({ PORT: String(port), REDIS_PREFIX: prefix, RECORDINGS_DIR: join(work, 'recordings') }),
      'voice agent ready',
    );
    service.proc.stdout!.on('data', (d: Buffer) => (serviceOut = (serviceOut + d.toString()).slice(-20_000)));
    await service.ready;
    // The examples read fixtures (`@test/fixtures/...`) relative to the clone and write files
    // (answer.wav, call.wav) into the current directory: run them in a scratch directory that
    // sees the clone's test/ and examples/.
    symlinkSync(join(ROOT, 'test'), join(work, 'test'));
    symlinkSync(join(ROOT, 'examples'), join(work, 'examples'));
  });

  afterAll(async () => {
    if (scriptGroup !== undefined) killGroup(scriptGroup); // a run cut short by its timeout
    await service?.kill('SIGTERM');
    const redis = new Redis('redis://127.0.0.1:6379', { lazyConnect: true, maxRetriesPerRequest: 1 });
    try {
      await redis.connect();
      const keys = await scanKeys(redis, `*${prefix}*`);
      if (keys.length) await redis.del(...keys);
    } finally {
      redis.disconnect();
    }
    rmSync(work, { recursive: true, force: true });
  });

  it('finds the examples, and every skipped one says why', () => {
    // The README's main walk-through runs: its setup block and its plain-HTTP call block at least.
    expect(runnable.filter((b) => b.section === 'API by example').length).toBeGreaterThanOrEqual(2);
    for (const b of blocks) if (b.skip !== undefined) expect(b.skip.trim().length, `README.md:${b.line}`).toBeGreaterThan(3);
  });

  it('runs every example block in order, each exiting 0', async () => {
    const script = [
      'set -euo pipefail',
      // An HTTP error fails the example, as it would make a reader stop.
      'curl() { command curl --fail-with-body "$@"; }',
      ...runnable.map((b) => `echo "::readme-block README.md:${b.line}" >&2\n${b.code.replaceAll(':8080', `:${port}`)}`),
      'echo "::readme-done" >&2',
    ].join('\n');
    const { code, stdout, stderr } = await runBash(script, work, (pid) => (scriptGroup = pid));
    const last = [...stderr.matchAll(/::readme-block (README\.md:\d+)/g)].at(-1)?.[1] ?? 'before the first block';
    const why = `${code === 0 ? '' : `failed in the block at ${last}\n`}--- stdout\n${stdout.slice(-4000)}\n--- stderr\n${stderr.slice(-4000)}\n--- service\n${serviceOut.slice(-3000)}${service?.stderr().slice(-2000) ?? ''}`;
    expect(code, why).toBe(0);
    expect(stderr, why).toContain('::readme-done');
    // An answer the README prints next to its command (`# → 202 {...}`) is the one it gets.
    for (const b of runnable) {
      for (const [, json] of b.code.matchAll(/# → (?:\d{3} )?(\{.*\})\s*$/gm)) expect(stdout, `README.md:${b.line} promises ${json}`).toContain(json);
    }
  }, 60_000);
});

/** Runs `script` with bash in its own process group; the group (a backgrounded `curl -N`, say) is ended after. */
function runBash(script: string, cwd: string, started: (pid: number) => void): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const proc = spawn('bash', ['-c', script], { cwd, env: newcomerEnv({}), detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    started(proc.pid!);
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    proc.once('error', reject);
    proc.once('exit', () => killGroup(proc.pid!)); // what the script left running in the background
    // 'close' comes once the background processes holding the pipes have gone too.
    proc.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGTERM');
  } catch {
    // the group is already gone
  }
}
