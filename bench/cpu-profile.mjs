// Loaded with NODE_OPTIONS="--import ./bench/cpu-profile.mjs" (--cpu-prof is not allowed there): a
// CPU profile of the whole process, written to $CPU_PROFILE_DIR/<pid>.cpuprofile when it exits.
// Used by `bench/profile-turn.ts --cpu`; open the files in Chrome DevTools or summarise them with
// `npx tsx bench/cpu-summary.ts <dir>`.
import { Session } from 'node:inspector';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.env.CPU_PROFILE_DIR ?? '/tmp/cpu-profiles';
const session = new Session();
session.connect();
session.post('Profiler.enable');
session.post('Profiler.setSamplingInterval', { interval: 200 });
session.post('Profiler.start');
process.on('exit', () => {
  // In-process inspector calls complete synchronously, so this works inside 'exit'.
  session.post('Profiler.stop', (err, res) => {
    if (err) return;
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, `${process.argv[2]?.split('/').pop()?.replace(/\W/g, '_') ?? 'node'}-${process.pid}.cpuprofile`), JSON.stringify(res.profile));
  });
});
