/**
 * The OpenAI-compatible providers, one official `openai` client per stage (each stage may point at
 * a different server: DESIGN.md §3). The SDK's own retries are off: the stage processors retry with
 * their own backoff so every attempt is visible in the stage log.
 */
import OpenAI from 'openai';
import type { Config, ProviderEndpoint } from '../config';

export interface Providers {
  stt: OpenAI;
  llm: OpenAI;
  tts: OpenAI;
}

function client(e: ProviderEndpoint, timeoutMs: number): OpenAI {
  return new OpenAI({ baseURL: e.baseURL, apiKey: e.apiKey, maxRetries: 0, timeout: timeoutMs });
}

export function createProviders(config: Config): Providers {
  return {
    stt: client(config.stt, 30_000),
    llm: client(config.llm, 60_000),
    tts: client(config.tts, 30_000),
  };
}
