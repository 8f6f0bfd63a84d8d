/** What `voice-agent test` prints (a table per scenario run, the pass rates) and its JUnit XML. */
import { passed, type ScenarioRun } from './agent-test';

const clip = (s: string, n: number) => {
  const one = s.replace(/\s+/g, ' ').trim();
  return one.length > n ? one.slice(0, n - 1) + '…' : one;
};

/** One scenario run: a line per turn (✓/✗, first audio, said, heard), the failures under it. */
export function formatRun(r: ScenarioRun, repeat: number): string {
  const lines = [`${passed(r) ? '✓' : '✗'} ${r.name}${repeat > 1 ? ` (run ${r.run}/${repeat})` : ''}  [${r.file}]`];
  lines.push(`   #  ok  first audio  said                                      heard`);
  r.turns.forEach((t, i) => {
    const audio = t.firstAudioMs === null ? '—' : `${Math.round(t.firstAudioMs)} ms`;
    const heard = t.transcript !== null ? `(heard "${clip(t.transcript, 30)}") ${t.response}` : t.response;
    lines.push(`  ${String(i + 1).padStart(2)}  ${t.failures.length ? '✗' : '✓'}   ${audio.padStart(11)}  ${clip(t.said, 40).padEnd(40)}  ${clip(heard, 70)}`);
    if (t.judge?.pass) lines.push(`        judge: ${t.judge.reason}`);
    for (const f of t.failures) lines.push(`        ✗ ${f}`);
  });
  if (r.error) lines.push(`   ✗ stopped: ${r.error}`);
  return lines.join('\n') + '\n';
}

/** The closing lines: per scenario its pass rate when repeated, then the totals. */
export function formatSummary(runs: ScenarioRun[], repeat: number): string {
  const lines: string[] = [];
  if (repeat > 1) {
    const byFile = new Map<string, ScenarioRun[]>();
    for (const r of runs) byFile.set(r.file, [...(byFile.get(r.file) ?? []), r]);
    for (const [file, rs] of byFile) {
      const ok = rs.filter(passed).length;
      lines.push(`${rs[0]!.name}: ${ok}/${rs.length} runs passed (${Math.round((ok / rs.length) * 100)} %)  [${file}]`);
    }
  }
  const turns = runs.flatMap((r) => r.turns);
  const held = turns.filter((t) => t.failures.length === 0).length;
  const ok = runs.filter(passed).length;
  lines.push(`scenario runs: ${ok} of ${runs.length} passed; turns: ${held} of ${turns.length} held`);
  return lines.join('\n') + '\n';
}

const esc = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!).replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, '');

/** JUnit XML: a testsuite per scenario run, a testcase per turn (a failure lists what did not hold). */
export function junitXml(runs: ScenarioRun[], repeat: number): string {
  const suites = runs.map((r) => {
    const name = repeat > 1 ? `${r.name} (run ${r.run})` : r.name;
    const cases = r.turns.map((t, i) => {
      const head = `    <testcase classname="${esc(r.file)}" name="${esc(`turn ${i + 1}: ${t.said}`)}" time="${(t.durationMs / 1000).toFixed(3)}">`;
      const out = `      <system-out>${esc(`heard: ${t.transcript ?? '—'}\nanswer: ${t.response}\ntools: ${JSON.stringify(t.toolCalls)}\nfirst audio ms: ${t.firstAudioMs === null ? '—' : Math.round(t.firstAudioMs)}`)}</system-out>`;
      const failure = t.failures.length ? `\n      <failure message="${esc(t.failures[0]!)}">${esc(t.failures.join('\n'))}</failure>` : '';
      return `${head}${failure}\n${out}\n    </testcase>`;
    });
    if (r.error) cases.push(`    <testcase classname="${esc(r.file)}" name="scenario"><error message="${esc(r.error)}">${esc(r.error)}</error></testcase>`);
    const failures = r.turns.filter((t) => t.failures.length > 0).length;
    return `  <testsuite name="${esc(name)}" tests="${cases.length}" failures="${failures}" errors="${r.error ? 1 : 0}" time="${(r.durationMs / 1000).toFixed(3)}">\n${cases.join('\n')}\n  </testsuite>`;
  });
  const tests = runs.reduce((n, r) => n + r.turns.length + (r.error ? 1 : 0), 0);
  const failures = runs.reduce((n, r) => n + r.turns.filter((t) => t.failures.length > 0).length, 0);
  const errors = runs.filter((r) => r.error).length;
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="voice-agent test" tests="${tests}" failures="${failures}" errors="${errors}">\n${suites.join('\n')}\n</testsuites>\n`;
}
