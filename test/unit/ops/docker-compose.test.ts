/**
 * docker-compose.yml cannot run in CI (no Docker), so it is checked statically (issue 20): every
 * service's command is a script package.json has (or a file that exists), every variable it
 * passes is one src/config.ts reads and the config accepts the values it passes, the published
 * ports are the ports the processes listen on, and the Redis URL names the compose Redis service.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { CONFIG_VARIABLES, loadConfig } from '../../../src/config';

const root = join(import.meta.dirname, '../../..');

interface Service {
  image?: string;
  build?: unknown;
  command?: string[];
  ports?: string[];
  environment?: Record<string, string | number | boolean | null>;
  depends_on?: Record<string, unknown> | string[];
}
const compose = parse(readFileSync(join(root, 'docker-compose.yml'), 'utf8'), { merge: true }) as { services: Record<string, Service> };
const scripts = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
/** Our own services (built from this repository), not the Redis image. */
const ours = Object.entries(compose.services).filter(([, svc]) => svc.build !== undefined);

/** Compose's `${NAME:-default}` and `${NAME:?message}`, as an operator who sets only the required ones gets them. */
function interpolate(value: string, required: string): string {
  return value.replace(/\$\{([A-Z0-9_]+)(?::?([-?])([^}]*))?\}/g, (_m, _name, op: string | undefined, rest: string | undefined) =>
    op === '-' ? (rest ?? '') : op === '?' ? required : '',
  );
}

function envOf(svc: Service): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(svc.environment ?? {})) env[k] = interpolate(String(v ?? ''), 'compose-required-value-0123456789');
  return env;
}

describe('docker-compose.yml', () => {
  it('has the gateway and one worker per stage, built from this repository', () => {
    expect(ours.map(([name]) => name).sort()).toEqual(['gateway', 'llm', 'stt', 'tts']);
  });

  it.each(ours)('%s runs an npm script package.json has, or a file that exists', (_name, svc) => {
    const command = svc.command ?? [];
    expect(command.length).toBeGreaterThan(0);
    if (command[0] === 'npm') {
      expect(command[1]).toBe('run');
      expect(Object.keys(scripts)).toContain(command[2]);
      // The script's own entry file exists too (`tsx src/main.ts`).
      const entry = scripts[command[2]!]!.split(/\s+/).find((w) => /\.(ts|js|mjs)$/.test(w));
      if (entry) expect(existsSync(join(root, entry)), entry).toBe(true);
    } else {
      expect(['node', 'tsx']).toContain(command[0]);
      expect(existsSync(join(root, command[1]!)), command[1]).toBe(true);
    }
  });

  it.each(ours)('%s passes only variables src/config.ts reads, with values it accepts', (_name, svc) => {
    const env = envOf(svc);
    const unknown = Object.keys(env).filter((k) => !CONFIG_VARIABLES.includes(k));
    expect(unknown).toEqual([]);
    expect(() => loadConfig(env)).not.toThrow();
  });

  it.each(ours)('%s reaches the compose Redis service on its port', (_name, svc) => {
    const config = loadConfig(envOf(svc));
    const url = new URL(config.redisUrl);
    expect(Object.keys(compose.services)).toContain(url.hostname);
    const redis = compose.services[url.hostname]!;
    const portFlag = (redis.command ?? []).indexOf('--port');
    const redisPort = portFlag >= 0 ? Number(redis.command![portFlag + 1]) : 6379;
    expect(Number(url.port || 6379)).toBe(redisPort);
    const deps = Array.isArray(svc.depends_on) ? svc.depends_on : Object.keys(svc.depends_on ?? {});
    expect(deps).toContain(url.hostname);
  });

  it.each(ours)('%s publishes only the ports its process listens on, on all interfaces', (_name, svc) => {
    const config = loadConfig(envOf(svc));
    const listening = [config.port, config.metricsPort].filter((p): p is number => p !== undefined);
    for (const mapping of svc.ports ?? []) {
      const container = Number(String(mapping).split(':').pop());
      expect(listening).toContain(container);
    }
    // Published or not, a container must listen beyond its own loopback to be reachable.
    expect(config.host).toBe('0.0.0.0');
  });
});
