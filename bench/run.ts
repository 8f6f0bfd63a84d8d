/**
 * `npm run bench`: every benchmark in turn, each in its own process (so one's load does not skew
 * the next): bench/latency.ts (issue 18's table: added latency against the in-process baseline,
 * CPU and Redis commands per turn, capacity), bench/profile-turn.ts (where a turn's time goes, hop
 * by hop), bench/audio.ts (with --expose-gc for its heap line), bench/load.ts, then
 * bench/realtime.ts (which takes only --calls), then bench/failover.ts (its defaults), then
 * bench/realtime-delta.ts, then bench/memory.ts (its own N = 1, 50, 200 unless --mem-calls is
 * given). bench/first-audio.ts (~2.5 minutes of one-call turns), kill.ts, cluster.ts, recording.ts
 * and false-interruption.ts are run on their own.
 * Extra arguments go to every benchmark that takes them (e.g. `npm run bench -- --calls 1,50`).
 */
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const BENCHES: { file: string; nodeArgs: string[]; args: string[] }[] = [
  // ~12 minutes: 1 call (30 plain turns, 30 with a tool round), 8 calls, capacity with 1 and 2 workers per stage.
  { file: 'latency.ts', nodeArgs: [], args: [] },
  { file: 'profile-turn.ts', nodeArgs: [], args: [] },
  { file: 'profile-turn.ts', nodeArgs: [], args: ['--tool'] },
  { file: 'audio.ts', nodeArgs: ['--expose-gc'], args: [] },
  { file: 'load.ts', nodeArgs: [], args: process.argv.slice(2) },
  { file: 'realtime.ts', nodeArgs: [], args: process.argv.slice(2).filter((a, i, all) => a === '--calls' || all[i - 1] === '--calls') },
  // ~3 minutes: 17 in-process services, 8 turns each.
  { file: 'failover.ts', nodeArgs: [], args: [] },
  { file: 'realtime-delta.ts', nodeArgs: [], args: [] },
  // ~2 minutes: a fresh gateway + workers per N, memory after GC with N live calls.
  { file: 'memory.ts', nodeArgs: [], args: memoryArgs() },
];

/** `--mem-calls 1,50` → memory.ts's `--calls` (the load bench's --calls is not a memory measure). */
function memoryArgs(): string[] {
  const i = process.argv.indexOf('--mem-calls');
  return i >= 0 && process.argv[i + 1] ? ['--calls', process.argv[i + 1]!] : [];
}

let failed = 0;
for (const b of BENCHES) {
  console.log(`\n=== bench/${b.file} ===`);
  const r = spawnSync(process.execPath, [...b.nodeArgs, '--import', 'tsx', join(here, b.file), ...b.args], { stdio: 'inherit', cwd: join(here, '..') });
  if (r.status !== 0) {
    failed++;
    console.error(`bench/${b.file} failed (${r.status ?? r.signal})`);
  }
}
console.log('\nResults: bench/out/*.json; record them in bench/RESULTS.md with the date and machine.');
process.exit(failed ? 1 : 0);
