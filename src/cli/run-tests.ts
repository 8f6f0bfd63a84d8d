/** `voice-agent test`: every scenario (validated first), `repeat` times, the report and the exit code. */
import { writeFileSync } from 'node:fs';
import { AgentTester, passed, type ScenarioRun } from './agent-test';
import type { Target } from './client';
import { loadScenario } from './scenario';
import { formatRun, formatSummary, junitXml } from './test-report';

export async function runAgentTests(t: Target, files: string[], o: { junit: string | undefined; repeat: number; env: NodeJS.ProcessEnv }, out: (s: string) => void): Promise<number> {
  // A typo in the last file fails before any call is made.
  const scenarios = files.map((file) => ({ file, scenario: loadScenario(file) }));
  const tester = new AgentTester(t, { env: o.env });
  const runs: ScenarioRun[] = [];
  try {
    for (const { file, scenario } of scenarios) {
      for (let run = 1; run <= o.repeat; run++) {
        const r = await tester.run(scenario, file, run);
        runs.push(r);
        out(formatRun(r, o.repeat));
      }
    }
  } finally {
    await tester.close();
  }
  out(formatSummary(runs, o.repeat));
  if (o.junit) writeFileSync(o.junit, junitXml(runs, o.repeat));
  return runs.every(passed) ? 0 : 1;
}
