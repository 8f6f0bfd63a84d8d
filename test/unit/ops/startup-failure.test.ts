import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config';
import { RedisUnreachableError } from '../../../src/adapters/redis';
import { startupFailureLine } from '../../../src/core/startup-failure';
import { countByStage } from '../../../src/adapters/worker-heartbeats';

/** The error Node gives a second listener on a taken port. */
async function addressInUse(): Promise<Error> {
  const a = createServer();
  await new Promise<void>((r) => a.listen(0, '127.0.0.1', r));
  const port = (a.address() as { port: number }).port;
  const b = createServer();
  const err = await new Promise<Error>((resolve) => b.once('error', resolve).listen(port, '127.0.0.1'));
  a.close();
  return err;
}

describe('startupFailureLine', () => {
  it('names a taken port, and the variable that chose it, as the fix', async () => {
    const err = await addressInUse();
    const port = (err as Error & { port: number }).port;
    expect(startupFailureLine(err, { portVariable: 'PORT' })).toBe(
      `Cannot listen on 127.0.0.1:${port}: the port is already in use (is another voice-agent running?). Stop that process or set PORT to a free port.`,
    );
    expect(startupFailureLine(err, { portVariable: 'METRICS_PORT' })).toMatch(/set METRICS_PORT to a free port\.$/);
  });

  it('passes a bad variable and an unreachable Redis through as their one line', () => {
    let config: unknown;
    try {
      loadConfig({ PORT: 'abc' });
    } catch (err) {
      config = err;
    }
    expect(startupFailureLine(config, { portVariable: 'PORT' })).toMatch(/^Invalid configuration: PORT="abc": /);
    const redis = new RedisUnreachableError('Cannot reach Redis at redis://h:1 (connect ECONNREFUSED). Start Redis or set REDIS_URL.');
    expect(startupFailureLine(redis, { portVariable: 'PORT' })).toBe(redis.message);
  });

  it('leaves an unknown error (a bug) to be printed with its stack', () => {
    expect(startupFailureLine(new TypeError('x is undefined'), { portVariable: 'PORT' })).toBeNull();
    expect(startupFailureLine('not an error', { portVariable: 'PORT' })).toBeNull();
  });
});

describe('countByStage (worker heartbeats)', () => {
  it('counts live processes per stage, every stage present', () => {
    expect(countByStage(['stt|h1:1:a', 'stt|h2:7:b', 'tts|h1:1:a', 'other|h3:1:c'])).toEqual({ stt: 2, llm: 0, tts: 1 });
    expect(countByStage([])).toEqual({ stt: 0, llm: 0, tts: 0 });
  });
});
