/**
 * `voice-agent businesses list|get|put`: business configs to and from JSON files. `list --out`
 * writes `{ "<id>": <config>, … }`, which `put <file>` reads back; `get <id>` and `put <id> <file>`
 * handle one config. Configs are written in the shape PUT accepts (server-set fields removed).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import type { Business } from '../contracts/business';
import { request, type Target } from './client';

type Config = Record<string, unknown>;

/** A stored business → the body PUT /v1/businesses/:id accepts. */
export function toInput(b: Business | Config): Config {
  const { id: _id, created_at: _c, updated_at: _u, object: _o, ...input } = b as Config;
  return input;
}

function readJson(path: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new Error(`${path}: ${(err as Error).message}`);
  }
}

/** Webhook secrets come back from the API as "[set]"; putting that back would replace the real secret. */
function checkSecrets(id: string, config: Config): void {
  const handlers = (config.tool_handlers ?? {}) as Record<string, { secret?: unknown }>;
  for (const [name, h] of Object.entries(handlers)) {
    if (h && typeof h === 'object' && h.secret === '[set]') {
      throw new Error(`${id}: tool_handlers.${name}.secret is "[set]" (hidden by the API); put the real secret in the file or remove the field.`);
    }
  }
}

export async function listBusinesses(t: Target, o: { out?: string; json: boolean }, write: (s: string) => void): Promise<void> {
  const { data } = await request<{ data: Business[] }>(t, '/v1/businesses');
  if (o.out || o.json) {
    const map = Object.fromEntries(data.map((b) => [b.id, toInput(b)]));
    const text = JSON.stringify(map, null, 2) + '\n';
    if (o.out) {
      writeFileSync(o.out, text);
      write(`wrote ${data.length} business config(s) to ${o.out}\n`);
    } else write(text);
    return;
  }
  if (data.length === 0) return write('(no businesses)\n');
  const rows = data.map((b) => [b.id, b.mode, b.session.voice, String(b.session.tools.length), b.name]);
  const head = ['id', 'mode', 'voice', 'tools', 'name'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  for (const r of [head, ...rows]) write(r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ') + '\n');
}

export async function getBusiness(t: Target, id: string, o: { out?: string }, write: (s: string) => void): Promise<void> {
  const b = await request<Business>(t, `/v1/businesses/${encodeURIComponent(id)}`);
  const text = JSON.stringify(toInput(b), null, 2) + '\n';
  if (o.out) {
    writeFileSync(o.out, text);
    write(`wrote ${id} to ${o.out}\n`);
  } else write(text);
}

/** `put <id> <file>` (one config) or `put <file>` (a map of id → config, as `list --out` writes). */
export async function putBusinesses(t: Target, args: string[], write: (s: string) => void): Promise<void> {
  const [first, second] = args;
  let configs: [string, Config][];
  if (second !== undefined) configs = [[first!, readJson(second) as Config]];
  else {
    const map = readJson(first!);
    if (!map || typeof map !== 'object' || Array.isArray(map)) throw new Error(`${first}: expected an object of business id → config`);
    configs = Object.entries(map as Record<string, Config>);
  }
  for (const [id, config] of configs) {
    const input = toInput(config);
    checkSecrets(id, input);
    const saved = await request<Business>(t, `/v1/businesses/${encodeURIComponent(id)}`, { method: 'PUT', json: input });
    write(`put ${saved.id}: ${saved.name} (${saved.mode}, voice ${saved.session.voice}, ${saved.session.tools.length} tools)\n`);
  }
}
