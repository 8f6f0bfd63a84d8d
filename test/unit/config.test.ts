import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config';

describe('loadConfig', () => {
  it('fills the design defaults and runs the local provider when no provider is configured', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({ port: 8080, host: '127.0.0.1', redisUrl: 'redis://127.0.0.1:6379', redisPrefix: 'va', workers: ['stt', 'llm', 'tts'], localProvider: true });
    expect(c.stt.model).toBe('whisper-1');
    expect(c.llm.model).toBe('gpt-4o-mini');
    expect(c.tts.model).toBe('tts-1');
    expect(c.realtime).toMatchObject({ url: 'wss://api.openai.com/v1/realtime', model: 'gpt-realtime', dialect: 'ga' });
  });

  it('points every stage at OPENAI_BASE_URL, with per-stage overrides', () => {
    const c = loadConfig({ OPENAI_BASE_URL: 'http://localhost:11434/v1', STT_BASE_URL: 'http://localhost:8000/v1', STT_API_KEY: 'stt-key' });
    expect(c.localProvider).toBe(false);
    expect(c.llm.baseURL).toBe('http://localhost:11434/v1');
    expect(c.stt).toMatchObject({ baseURL: 'http://localhost:8000/v1', apiKey: 'stt-key' });
    expect(c.realtime.url).toBe('ws://localhost:11434/v1/realtime');
  });

  it('does not replace a partly configured provider with the local one', () => {
    expect(loadConfig({ STT_BASE_URL: 'http://localhost:8000/v1' }).localProvider).toBe(false);
  });

  it('reads WORKERS, empty meaning gateway only', () => {
    expect(loadConfig({ WORKERS: '' }).workers).toEqual([]);
    expect(loadConfig({ WORKERS: 'tts, stt' }).workers).toEqual(['tts', 'stt']);
  });

  it('reads REDIS_CLUSTER_NODES, unset meaning one node at REDIS_URL', () => {
    expect(loadConfig({}).redisClusterNodes).toEqual([]);
    expect(loadConfig({ REDIS_CLUSTER_NODES: 'redis-a:6379, 10.0.0.2:7000' }).redisClusterNodes).toEqual(['redis-a:6379', '10.0.0.2:7000']);
  });

  it.each([
    [{ REDIS_CLUSTER_NODES: 'redis-a,redis-b:6379' }, 'REDIS_CLUSTER_NODES'],
    [{ PORT: 'abc' }, 'PORT'],
    [{ WORKERS: 'stt,gpu' }, 'WORKERS'],
    [{ REDIS_URL: 'http://x' }, 'REDIS_URL'],
    [{ ADMIN_API_KEY: 'short' }, 'ADMIN_API_KEY'],
    [{ REALTIME_DIALECT: 'v2' }, 'REALTIME_DIALECT'],
  ])('stops with one message naming the variable for %j', (env, name) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(new RegExp(`^Invalid configuration: ${name}`));
  });

  it('reads a secret from a *_FILE path', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cfg-'));
    writeFileSync(join(dir, 'admin'), 'a-very-long-admin-key-0001\n');
    expect(loadConfig({ ADMIN_API_KEY_FILE: join(dir, 'admin') }).adminApiKey).toBe('a-very-long-admin-key-0001');
    expect(() => loadConfig({ ADMIN_API_KEY_FILE: join(dir, 'missing') })).toThrow(/ADMIN_API_KEY_FILE/);
  });
});

describe('provider failover configuration', () => {
  it('has no fallback by default, and the stage timeouts and circuit of docs/DESIGN.md §8', () => {
    const c = loadConfig({});
    expect([c.stt.fallback, c.llm.fallback, c.tts.fallback, c.realtime.fallback]).toEqual([null, null, null, null]);
    expect([c.stt.timeoutMs, c.llm.timeoutMs, c.tts.timeoutMs]).toEqual([10_000, 8_000, 5_000]);
    expect(c.circuit).toEqual({ failureThreshold: 3, openMs: 30_000 });
  });

  it('reads a fallback per stage; its model defaults to the primary request’s and the primary key is never reused', () => {
    const c = loadConfig({
      OPENAI_API_KEY: 'sk-primary',
      LLM_FALLBACK_BASE_URL: 'http://backup:8000/v1',
      LLM_FALLBACK_MODEL: 'llama-3.1-8b',
      TTS_FALLBACK_BASE_URL: 'http://tts-backup/v1',
      TTS_FALLBACK_API_KEY: 'sk-other',
      REALTIME_FALLBACK_URL: 'wss://rt-backup/v1/realtime',
    });
    expect(c.llm.fallback).toEqual({ baseURL: 'http://backup:8000/v1', apiKey: 'none', model: 'llama-3.1-8b' });
    expect(c.tts.fallback).toEqual({ baseURL: 'http://tts-backup/v1', apiKey: 'sk-other', model: undefined });
    expect(c.realtime.fallback).toEqual({ url: 'wss://rt-backup/v1/realtime', apiKey: 'none', model: undefined });
    expect(c.stt.fallback).toBeNull();
  });

  it('rejects a bad fallback URL, a bad timeout, and a fallback key without its server, naming the variable', () => {
    expect(() => loadConfig({ STT_FALLBACK_BASE_URL: 'not a url' })).toThrow(/STT_FALLBACK_BASE_URL/);
    expect(() => loadConfig({ REALTIME_FALLBACK_URL: 'http://x' })).toThrow(/REALTIME_FALLBACK_URL=.*ws:\/\//);
    expect(() => loadConfig({ TTS_TIMEOUT_MS: 'soon' })).toThrow(/TTS_TIMEOUT_MS/);
    expect(() => loadConfig({ LLM_FALLBACK_API_KEY: 'sk-x' })).toThrow(ConfigError);
    expect(() => loadConfig({ LLM_FALLBACK_API_KEY: 'sk-x' })).toThrow(/LLM_FALLBACK_API_KEY is set but LLM_FALLBACK_BASE_URL is not/);
  });

  it('takes a shorter circuit for tests and small deployments', () => {
    expect(loadConfig({ PROVIDER_CIRCUIT_FAILURES: '5', PROVIDER_CIRCUIT_OPEN_MS: '200' }).circuit).toEqual({ failureThreshold: 5, openMs: 200 });
  });
});
