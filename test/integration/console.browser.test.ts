/**
 * The web console in a real browser: headless Debian Chromium (playwright-core) whose microphone
 * is a spoken fixture, against the service with the fake provider. The page starts a call,
 * streams the mic as PCM16 over the Realtime WebSocket, and shows the transcript, the live stage
 * log and the latency waterfall. A screenshot is saved under test/artifacts/.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser } from 'playwright-core';
import { encodeWav, parseWav } from '../../src/core/audio/formats';
import { resample } from '../../src/core/audio/resample';
import { fixturePath } from '../fixtures';
import { DEFAULT_TRANSCRIPT } from '../fakes/script';
import { ADMIN_KEY, SIMPLE_BUSINESS, startService, type TestService } from '../helpers/service';

const ARTIFACTS = join(process.cwd(), 'test', 'artifacts');

let svc: TestService;
let browser: Browser;
let tmp: string;

/** The fixture at 48 kHz with 2 s of silence after it, so the VAD ends the turn before Chromium loops the file. */
function fakeMicWav(dir: string): string {
  const { pcm, sampleRate } = parseWav(readFileSync(fixturePath('hours_16k.wav')));
  const speech = resample(pcm, sampleRate, 48_000);
  const out = new Int16Array(speech.length + 2 * 48_000);
  out.set(speech);
  const file = join(dir, 'mic.wav');
  writeFileSync(file, encodeWav(out, 48_000));
  return file;
}

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'va-console-'));
  const mic = fakeMicWav(tmp);
  [svc, browser] = await Promise.all([
    startService(),
    chromium.launch({
      executablePath: '/usr/bin/chromium',
      headless: true,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--use-fake-ui-for-media-stream',
        '--use-fake-device-for-media-stream',
        `--use-file-for-fake-audio-capture=${mic}`,
        '--autoplay-policy=no-user-gesture-required',
      ],
    }),
  ]);
  // `acme` sorts before `demo`: the console must still pick the seeded `demo` by default.
  await svc.api('/v1/businesses/acme', { method: 'PUT', json: SIMPLE_BUSINESS });
  await svc.api('/v1/businesses/demo', { method: 'PUT', json: SIMPLE_BUSINESS });
  // A pause longer than the fake mic's 2 s of silence: the caller's turn never ends.
  const put = await svc.api('/v1/businesses/patient', {
    method: 'PUT',
    json: { ...SIMPLE_BUSINESS, session: { ...SIMPLE_BUSINESS.session, turn_detection: { type: 'server_vad', silence_duration_ms: 5000 } } },
  });
  expect(put.ok).toBe(true);
});

afterAll(async () => {
  await browser?.close();
  await svc?.stop();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('web console', () => {
  it('talks through the browser microphone and shows the transcript, stage log and waterfall', async () => {
    const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
    await context.grantPermissions(['microphone'], { origin: svc.url });
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('pageerror', (err) => problems.push(err.message));
    await page.goto(`${svc.url}/`);
    await page.waitForSelector('body[data-ready="1"]');
    await page.fill('#key', ADMIN_KEY);
    await page.dispatchEvent('#key', 'change');
    await page.waitForSelector('#business option[value="acme"]', { state: 'attached' });
    expect(await page.inputValue('#business')).toBe('demo');
    await page.selectOption('#business', 'acme');
    expect(await page.isDisabled('#hangup')).toBe(true);

    // Record every VAD state and the loudest meter reading, so transient states cannot be missed.
    await page.evaluate(() => {
      const w = window as unknown as { vadStates: string[]; maxMeter: number; levels: Set<string> };
      w.vadStates = [];
      w.maxMeter = 0;
      w.levels = new Set();
      const vad = document.getElementById('vad')!;
      const meter = document.getElementById('meter-level')!;
      const level = document.getElementById('level')!;
      new MutationObserver(() => {
        const state = vad.dataset.state ?? '';
        if (w.vadStates.at(-1) !== state) w.vadStates.push(state);
      }).observe(vad, { attributes: true });
      new MutationObserver(() => {
        w.maxMeter = Math.max(w.maxMeter, parseFloat(meter.style.width) || 0);
        w.levels.add(level.textContent ?? '');
      }).observe(meter, { attributes: true });
    });
    await page.click('#start');
    // While the call runs: Start is disabled (a second click used to end it), Hang up enabled.
    await page.waitForSelector('#hangup:not([disabled])');
    expect(await page.isDisabled('#start')).toBe(true);

    const user = page.locator('#transcript li.user', { hasText: DEFAULT_TRANSCRIPT }).first();
    await user.waitFor({ timeout: 15_000 });
    await page.locator('#transcript li.assistant', { hasText: 'You said' }).first().waitFor({ timeout: 10_000 });
    await page.locator('#waterfall .turn .bar.stt').first().waitFor({ timeout: 10_000 });
    await page.locator('#log tbody tr', { hasText: 'first_output' }).first().waitFor();

    const bars = await page.locator('#waterfall .turn').first().locator('.bar').evaluateAll((els) => els.map((e) => e.className));
    expect(bars).toEqual(expect.arrayContaining(['bar stt', 'bar llm', 'bar tts']));
    const stages = await page.locator('#log tbody tr td:nth-child(3)').allTextContents();
    expect(stages).toEqual(expect.arrayContaining(['vad', 'stt', 'llm', 'tts', 'gateway']));

    // The live input level moved with the spoken fixture, and the VAD state followed the server.
    const seen = await page.evaluate(() => {
      const w = window as unknown as { vadStates: string[]; maxMeter: number; levels: Set<string> };
      return { vad: w.vadStates, maxMeter: w.maxMeter, levels: [...w.levels] };
    });
    expect(seen.vad.slice(0, 3)).toEqual(['silence', 'speaking', 'silence']);
    expect(seen.maxMeter).toBeGreaterThan(30);
    expect(seen.levels.some((t) => /^-\d+ dBFS$/.test(t))).toBe(true);
    expect(await page.isDisabled('#start')).toBe(true);
    expect(await page.locator('#transcript li.user', { hasText: DEFAULT_TRANSCRIPT }).count()).toBeGreaterThan(0);

    // The fake mic loops the fixture: hang up while the next utterance is still a "…" bubble.
    const pending = page.locator('#transcript li.user.pending', { hasText: '…' });
    await pending.first().waitFor({ timeout: 15_000 });
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'console.png'), fullPage: true });
    await page.click('#hangup');
    await page.locator('#status', { hasText: 'call ended' }).waitFor();
    expect(await pending.count()).toBe(0);
    expect(await page.isDisabled('#start')).toBe(false);
    expect(await page.isDisabled('#hangup')).toBe(true);
    expect(await page.getAttribute('#vad', 'data-state')).toBe('idle');
    // The transcript of the ended call stays readable.
    expect(await page.locator('#transcript li.assistant', { hasText: 'You said' }).count()).toBeGreaterThan(0);

    // The last used business wins over `demo` on the next visit.
    await page.reload();
    await page.waitForSelector('body[data-ready="1"]');
    await page.waitForSelector('#business option[value="demo"]', { state: 'attached' });
    expect(await page.inputValue('#business')).toBe('acme');
    expect(problems).toEqual([]);
    await context.close();
  });

  it('explains why no turn ends when the server keeps hearing speech', async () => {
    const context = await browser.newContext();
    await context.grantPermissions(['microphone'], { origin: svc.url });
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('pageerror', (err) => problems.push(err.message));
    await page.goto(`${svc.url}/`);
    await page.waitForSelector('body[data-ready="1"]');
    await page.fill('#key', ADMIN_KEY);
    await page.dispatchEvent('#key', 'change');
    await page.waitForSelector('#business option[value="patient"]', { state: 'attached' });
    await page.selectOption('#business', 'patient');
    await page.click('#start');
    const hint = page.locator('#vad-hint');
    await hint.waitFor({ state: 'visible', timeout: 15_000 });
    expect(await hint.textContent()).toMatch(/heard speech for \d+ s \(input now -?\d+ dBFS\): a turn ends only after a 5000 ms pause/);
    expect(await page.getAttribute('#vad', 'data-state')).toBe('speaking');
    expect(await page.textContent('#vad')).toMatch(/^VAD: speaking \d+ s$/);
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'console-long-speech.png') });
    await page.click('#hangup');
    await hint.waitFor({ state: 'hidden' });
    expect(await page.locator('#transcript li.user.pending').count()).toBe(0);
    expect(problems).toEqual([]);
    await context.close();
  }, 45_000); // the hint needs 8 s of uninterrupted speech

  it('shows the server validation error when a business config is saved with a bad field', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${svc.url}/business.html`);
    await page.waitForSelector('body[data-ready="1"]');
    await page.fill('#key', ADMIN_KEY);
    await page.dispatchEvent('#key', 'change');
    await page.waitForFunction(() => (document.getElementById('json') as HTMLTextAreaElement).value.includes('"session"'), undefined, { timeout: 5_000 });
    expect(await page.inputValue('#business')).toBe('demo');
    const config = JSON.parse(await page.inputValue('#json')) as { session: Record<string, unknown> };
    config.session.voice = 'not-a-voice';
    await page.fill('#json', JSON.stringify(config, null, 2));
    await page.click('#save');
    // The editor keeps the rejected text so it can be fixed.
    await page.locator('#error', { hasText: 'session.voice' }).waitFor({ timeout: 5_000 });
    await context.close();
  });

  it('prefills no key unless the server runs the local provider with the well-known local key', async () => {
    const res = await svc.api('/console/config', { key: null });
    expect(await res.json()).toEqual({ local_provider: false, default_key: null });
  });
});
