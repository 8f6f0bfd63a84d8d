/**
 * `voice-agent test` against a test gateway (the fake provider): scenarios that pass and fail,
 * spoken turns synthesised with the provider's TTS, tool calls, the judge, --repeat and the
 * JUnit XML (parsed). Then the shipped example against the built-in local provider.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { main } from '../../src/cli/main';
import { CUSTOMER_SUPPORT_TOOLS } from '../../src/tools/customer-support';
import { startLocalDemo, type LocalDemo } from '../helpers/local-demo';
import { ADMIN_KEY, serviceWithAcme } from '../helpers/service';

const svc = serviceWithAcme();
const dir = mkdtempSync(join(tmpdir(), 'agent-tests-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
beforeEach(() => svc.fake.reset());

function scenario(name: string, body: Record<string, unknown>): string {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, stringify({ name, ...body }));
  return file;
}

/** Runs the CLI in this process; stdout and stderr captured. */
async function cli(args: string[], env: Record<string, string> = {}) {
  let out = '';
  let err = '';
  const o = process.stdout.write.bind(process.stdout);
  const e = process.stderr.write.bind(process.stderr);
  process.stdout.write = ((s: string) => ((out += s), true)) as typeof process.stdout.write;
  process.stderr.write = ((s: string) => ((err += s), true)) as typeof process.stderr.write;
  try {
    const code = await main([...args, '--url', svc.url, '--key', ADMIN_KEY], { OPENAI_BASE_URL: svc.fake.url, OPENAI_API_KEY: 'test', ...env });
    return { code, out, err };
  } finally {
    process.stdout.write = o;
    process.stderr.write = e;
  }
}

const SUPPORT_BUSINESS = {
  config: {
    session: { instructions: 'You are a support agent.', tools: CUSTOMER_SUPPORT_TOOLS },
    tool_handlers: Object.fromEntries(CUSTOMER_SUPPORT_TOOLS.map((t) => [t.name, 'builtin'])),
  },
};

function junit(path: string) {
  const xml = readFileSync(path, 'utf8');
  expect(XMLValidator.validate(xml)).toBe(true);
  const doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '', isArray: (n) => ['testsuite', 'testcase', 'failure'].includes(n) }).parse(xml) as {
    testsuites: { tests: string; failures: string; testsuite: { name: string; tests: string; failures: string; testcase: { name: string; failure?: { message: string }[] }[] }[] };
  };
  return doc.testsuites;
}

describe('voice-agent test', () => {
  it('passes a scenario whose every expectation holds: typed and spoken turns, tools, judge', async () => {
    const file = scenario('passing', {
      business: SUPPORT_BUSINESS,
      turns: [
        { text: 'Hi there', expect: { response_contains: 'opening hours', response_matches: 'nine to \\w+', no_tool_calls: true, max_first_audio_ms: 30_000 } },
        { say: 'My number is 555 010 0123', expect: { transcript_contains: '555 010 0123', tool_calls: [{ name: 'lookup_customer', arguments: { phone_number: '+15550100123' } }], judge: 'The agent says it looked the number up.' } },
      ],
    });
    svc.fake.script.chat.push({ text: 'Our opening hours are nine to five.' });
    svc.fake.script.transcribe = () => 'My number is 555 010 0123';
    svc.fake.script.chat.push({ tool_calls: [{ name: 'lookup_customer', arguments: { phone_number: '+15550100123' } }] });
    svc.fake.script.chat.push({ text: 'I looked that number up; no customer has it.' });
    svc.fake.script.chat.push({ text: 'PASS: it says it looked the number up.' }); // the judge
    const xml = join(dir, 'passing.xml');
    const r = await cli(['test', file, '--junit', xml]);
    expect(r.err).toBe('');
    expect(r.out).not.toContain('✗');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/✓ passing/);
    expect(r.out).toMatch(/ 1 {2}✓ +\d+ ms {2}text: Hi there/);
    expect(r.out).toContain('heard "My number is 555 010 0123"');
    expect(r.out).toContain('judge: it says it looked the number up.');
    expect(r.out).toContain('scenario runs: 1 of 1 passed; turns: 2 of 2 held');
    // The spoken turn really was audio from the provider's TTS, transcribed by the service.
    expect(svc.fake.requests.some((q) => q.path === '/v1/audio/speech' && (q.body as { input?: string }).input === 'My number is 555 010 0123')).toBe(true);
    expect(svc.fake.requests.filter((q) => q.path === '/v1/audio/transcriptions')).toHaveLength(1);
    const suites = junit(xml);
    expect([suites.tests, suites.failures]).toEqual(['2', '0']);
    expect(suites.testsuite[0]!.testcase.map((c) => c.name)).toEqual(['turn 1: text: Hi there', 'turn 2: say: My number is 555 010 0123']);
    expect(suites.testsuite[0]!.testcase.every((c) => c.failure === undefined)).toBe(true);
    // The temporary businesses (the scenario's and the judge's) are gone.
    const list = (await (await svc.api('/v1/businesses')).json()) as { data: { id: string }[] };
    expect(list.data.map((b) => b.id)).toEqual(['acme']);
  });

  it('fails with exit 1 and says which expectation did not hold; --repeat gives the pass rate', async () => {
    const file = scenario('failing', {
      business: 'acme',
      turns: [
        { text: 'Hello', expect: { response_contains: 'goodbye', tool_calls: [{ name: 'create_ticket' }] } },
        { text: 'Anything else?', expect: { judge: 'The agent offers a refund.' } },
      ],
    });
    for (let run = 0; run < 2; run++) {
      svc.fake.script.chat.push({ text: 'Hello, how can I help?' });
      svc.fake.script.chat.push({ text: 'Nothing else.' });
      svc.fake.script.chat.push({ text: 'FAIL: no refund is offered.' });
    }
    const xml = join(dir, 'failing.xml');
    const r = await cli(['test', file, '--junit', xml, '--repeat', '2']);
    expect(r.code).toBe(1);
    expect(r.out).toContain('✗ response_contains "goodbye": the answer was "Hello, how can I help?"');
    expect(r.out).toContain('✗ tool_calls create_ticket: called no tool');
    expect(r.out).toContain('✗ judge "The agent offers a refund.": no refund is offered.');
    expect(r.out).toContain('failing: 0/2 runs passed (0 %)');
    const suites = junit(xml);
    expect([suites.tests, suites.failures]).toEqual(['4', '4']);
    expect(suites.testsuite.map((s) => s.name)).toEqual(['failing (run 1)', 'failing (run 2)']);
    const first = suites.testsuite[0]!.testcase[0]!;
    expect(first.failure![0]!.message).toContain('response_contains "goodbye"');
  });

  it('reports a scenario the service refuses, and rejects an invalid file before any call', async () => {
    const missing = scenario('missing', { business: 'nobody', turns: [{ text: 'Hi' }] });
    const r = await cli(['test', missing]);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/✗ stopped: POST \/v1\/calls: 404/);
    const bad = scenario('bad', { business: 'acme', turns: [{ text: 'Hi', say: 'Hi' }] });
    const calls = svc.fake.requests.length;
    const b = await cli(['test', bad]);
    expect(b.code).toBe(2);
    expect(b.err).toContain('turns.0: a turn has exactly one of say, audio, text');
    expect(svc.fake.requests.length).toBe(calls);
  });
});

describe('examples/demo.scenario.yaml on the built-in local provider', () => {
  let demo: LocalDemo;
  beforeAll(async () => {
    demo = await startLocalDemo(ADMIN_KEY);
  });
  afterAll(() => demo?.stop());

  it('passes', async () => {
    let out = '';
    const o = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((s: string) => ((out += s), true)) as typeof process.stdout.write;
    let code: number;
    try {
      code = await main(['test', 'examples/demo.scenario.yaml', '--url', demo.url, '--key', ADMIN_KEY], {});
    } finally {
      process.stdout.write = o;
    }
    expect(out).toContain('scenario runs: 1 of 1 passed; turns: 3 of 3 held');
    expect(code).toBe(0);
  });
});
