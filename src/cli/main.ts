/**
 * The voice-agent CLI (bin/voice-agent.mjs runs this with tsx): play a file into a call, read a
 * call's stage timeline, and manage business configs. The only reader of the environment here:
 * VOICE_AGENT_URL and VOICE_AGENT_KEY (or ADMIN_API_KEY).
 */
import { parseArgs, str, UsageError, type Parsed } from './args';
import { getBusiness, listBusinesses, putBusinesses } from './businesses';
import { runCall } from './call';
import { ServiceError, type Target } from './client';
import { ScenarioError } from './scenario';
import { followLogs, printLogs } from './logs';
import { Progress } from './progress';
import { runAgentTests } from './run-tests';

const LOCAL_KEY = 'local-admin-key-change-me';

export const USAGE = `voice-agent: talk to a voice-agent service from the command line

Usage:
  voice-agent call <business> <file.wav> [--out reply.wav] [--transcript out.txt]
                   [--speed 1] [--tail-ms 1500] [--timeout 120] [--dialect ga|beta]
      Start a call, stream the file in as the caller (paced in real time; --speed 4 is four
      times faster, --speed 0 as fast as possible), write the agent's reply audio (WAV, 24 kHz)
      and the transcript. Progress goes to stderr.
  voice-agent logs <call_id> [--follow] [--json]
      The call's stage timeline (one aligned line per entry, a summary per turn); --follow
      streams new entries until Ctrl-C.
  voice-agent businesses list [--json] [--out all.json]
  voice-agent businesses get <id> [--out acme.json]
  voice-agent businesses put <id> <acme.json>
  voice-agent businesses put <all.json>          (an object of id → config, as list --out writes)
  voice-agent test <scenario.yaml>... [--junit out.xml] [--repeat N]
      Run scripted calls (agent tests, see README "Agent tests") and check every expectation:
      a table per turn, exit 0 only when all held. --repeat N runs each N times (pass rate).

Options for every command:
  --url <base URL>   the service (env VOICE_AGENT_URL; default http://127.0.0.1:8080)
  --key <API key>    admin or business key (env VOICE_AGENT_KEY or ADMIN_API_KEY;
                     default ${LOCAL_KEY}, the local provider's key)
`;

const VALUED = ['url', 'key', 'out', 'transcript', 'speed', 'tail-ms', 'timeout', 'dialect', 'junit', 'repeat'];

function number(o: Parsed['options'], name: string, fallback: number): number {
  const v = str(o, name);
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new UsageError(`--${name} must be a number ≥ 0, got '${v}'`);
  return n;
}

export async function main(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const out = (s: string) => void process.stdout.write(s);
  const err = (s: string) => void process.stderr.write(s);
  try {
    const args = parseArgs(argv, VALUED);
    const [command, ...rest] = args.positionals;
    const o = args.options;
    if (!command || o.help || command === 'help') {
      out(USAGE);
      return command || o.help ? 0 : 2;
    }
    const target: Target = {
      url: (str(o, 'url') ?? env.VOICE_AGENT_URL ?? 'http://127.0.0.1:8080').replace(/\/+$/, ''),
      key: str(o, 'key') ?? env.VOICE_AGENT_KEY ?? env.ADMIN_API_KEY ?? LOCAL_KEY,
    };
    switch (command) {
      case 'call': {
        const [business, file] = rest;
        if (!business || !file) throw new UsageError('call needs <business> <file.wav>');
        const dialect = str(o, 'dialect') ?? 'ga';
        if (dialect !== 'ga' && dialect !== 'beta') throw new UsageError(`--dialect must be ga or beta`);
        const { transcript } = await runCall(
          target,
          {
            business,
            file,
            out: str(o, 'out'),
            transcriptOut: str(o, 'transcript'),
            speed: number(o, 'speed', 1),
            tailMs: number(o, 'tail-ms', 1500),
            timeoutMs: number(o, 'timeout', 120) * 1000,
            dialect,
          },
          { log: (s) => err(s + '\n'), progress: new Progress(process.stderr, 'streaming') },
        );
        out(transcript.join('\n') + '\n');
        return 0;
      }
      case 'logs': {
        const [callId] = rest;
        if (!callId) throw new UsageError('logs needs <call_id>');
        const json = o.json === true;
        if (o.follow) {
          const ac = new AbortController();
          const stop = () => ac.abort();
          process.once('SIGINT', stop);
          process.once('SIGTERM', stop);
          await followLogs(target, callId, { json, signal: ac.signal }, out);
        } else await printLogs(target, callId, { json }, out);
        return 0;
      }
      case 'businesses': {
        const [sub, ...more] = rest;
        if (sub === 'list') await listBusinesses(target, { out: str(o, 'out'), json: o.json === true }, out);
        else if (sub === 'get') {
          if (!more[0]) throw new UsageError('businesses get needs <id>');
          await getBusiness(target, more[0], { out: str(o, 'out') }, (s) => (str(o, 'out') ? err(s) : out(s)));
        } else if (sub === 'put') {
          if (!more[0]) throw new UsageError('businesses put needs <id> <file.json> or <file.json>');
          await putBusinesses(target, more, out);
        } else throw new UsageError(`businesses: unknown subcommand '${sub ?? ''}' (list, get, put)`);
        return 0;
      }
      case 'test': {
        if (rest.length === 0) throw new UsageError('test needs <scenario.yaml>...');
        const repeat = number(o, 'repeat', 1);
        if (!Number.isInteger(repeat) || repeat < 1) throw new UsageError(`--repeat must be a whole number ≥ 1`);
        return await runAgentTests(target, rest, { junit: str(o, 'junit'), repeat, env }, out);
      }
      default:
        throw new UsageError(`unknown command '${command}'`);
    }
  } catch (e) {
    if (e instanceof UsageError) {
      err(`voice-agent: ${e.message}\nRun 'voice-agent --help' for usage.\n`);
      return 2;
    }
    if (e instanceof ScenarioError) {
      err(`voice-agent: ${e.message}\n`);
      return 2;
    }
    err(`voice-agent: ${e instanceof ServiceError ? e.message : (e as Error).message}\n`);
    return 1;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  void main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
