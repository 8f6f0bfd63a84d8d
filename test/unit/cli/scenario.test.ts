import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseArgs, UsageError } from '../../../src/cli/args';
import { checkTurn, isSubset, loadScenario, parseVerdict, ScenarioError, type TurnOutcome } from '../../../src/cli/scenario';

const dir = mkdtempSync(join(tmpdir(), 'scenario-unit-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const outcome = (o: Partial<TurnOutcome> = {}): TurnOutcome => ({ said: 'text: hi', transcript: null, response: 'I found you: Jane Doe.', toolCalls: [], firstAudioMs: 400, status: 'completed', durationMs: 900, ...o });

describe('scenario expectations', () => {
  it('hold when every one is met, case-insensitively', () => {
    const o = outcome({ transcript: 'My number is 555', toolCalls: [{ name: 'lookup_customer', arguments: { phone_number: '+1555', extra: 1 } }] });
    expect(checkTurn(o, { transcript_contains: ['number IS'], response_contains: ['jane doe'], response_matches: 'found you: \\w+', tool_calls: [{ name: 'lookup_customer', arguments: { phone_number: '+1555' } }], max_first_audio_ms: 500 })).toEqual([]);
  });

  it('name what did not hold', () => {
    const f = checkTurn(outcome({ status: 'cancelled', firstAudioMs: null }), { response_contains: ['refund'], tool_calls: [{ name: 'create_ticket' }], max_first_audio_ms: 100, transcript_contains: ['x'] });
    expect(f).toEqual([
      'the response ended cancelled',
      'transcript_contains "x": the turn has no transcript (only say/audio turns do)',
      'response_contains "refund": the answer was "I found you: Jane Doe."',
      'tool_calls create_ticket: called no tool',
      'max_first_audio_ms 100: no audio came',
    ]);
    expect(checkTurn(outcome({ toolCalls: [{ name: 'end_call', arguments: {} }] }), { no_tool_calls: true })).toEqual(['no_tool_calls: called end_call {}']);
    expect(checkTurn(outcome({ firstAudioMs: 901.4 }), { max_first_audio_ms: 900 })).toEqual(['max_first_audio_ms 900: first audio after 901 ms']);
  });

  it('compare tool arguments as a subset, deeply', () => {
    expect(isSubset({ a: { b: 1 } }, { a: { b: 1, c: 2 }, d: 3 })).toBe(true);
    expect(isSubset({ a: 1 }, { a: '1' })).toBe(false);
    expect(isSubset({ a: [1, 2] }, { a: [1, 2] })).toBe(true);
    expect(isSubset({ a: [1] }, { a: [1, 2] })).toBe(false);
  });

  it('read a judge verdict from the first word', () => {
    expect(parseVerdict('PASS: it greets.')).toEqual({ pass: true, reason: 'it greets.' });
    expect(parseVerdict('**fail** - no refund')).toEqual({ pass: false, reason: 'no refund' });
    expect(parseVerdict('I think it passes')).toBeNull();
  });

  it('are validated with the file and field named', () => {
    const file = join(dir, 's.yaml');
    writeFileSync(file, 'business: demo\nturns:\n  - text: hi\n    expect: { response_matches: "(" }\n');
    expect(() => loadScenario(file)).toThrow(new ScenarioError(`${file}: turns.0.expect.response_matches: must be a valid regular expression`));
    writeFileSync(file, 'business: demo\nturns:\n  - text: hi\n    expect: { respons_contains: x }\n');
    expect(() => loadScenario(file)).toThrow(/turns\.0\.expect: Unrecognized key: "respons_contains"/);
    writeFileSync(file, 'business: demo\nturns: [{ text: hi, expect: { response_contains: x } }]\n');
    expect(loadScenario(file).turns[0]!.expect.response_contains).toEqual(['x']);
  });
});

describe('CLI arguments (node:util parseArgs)', () => {
  it('takes positionals, flags, --name value and --name=value', () => {
    expect(parseArgs(['test', 'a.yaml', '--repeat', '3', '--junit=out.xml', '--json', '-h', 'b.yaml'], ['repeat', 'junit'])).toEqual({
      positionals: ['test', 'a.yaml', 'b.yaml'],
      options: { repeat: '3', junit: 'out.xml', json: true, help: true },
    });
    expect(parseArgs(['--', '--not-an-option'], []).positionals).toEqual(['--not-an-option']);
  });

  it('refuses a valued option without its value', () => {
    expect(() => parseArgs(['logs', '--out'], ['out'])).toThrow(new UsageError('--out needs a value'));
  });
});
