/**
 * The OpenAI-compatible providers, one official `openai` client per stage (each stage may point at
 * a different server: docs/DESIGN.md §3), and per stage an optional fallback server behind a circuit
 * breaker (docs/DESIGN.md §8, see failover.ts). The SDK's own retries are off: the stage processors
 * retry with their own backoff so every attempt is visible in the stage log.
 */
import OpenAI from 'openai';
import type { Config, ProviderEndpoint, Stage } from '../config';
import { stageMetrics } from '../metrics/registry';
import { StageProvider } from './failover';

export type Providers = Record<Stage, StageProvider>;

/** Whole-request caps; the first-byte timeouts (`*_TIMEOUT_MS`) are the stage's, in StageProvider. */
const REQUEST_TIMEOUT_MS: Record<Stage, number> = { stt: 30_000, llm: 60_000, tts: 30_000 };

const CIRCUIT_GAUGE = { closed: 0, half_open: 1, open: 2 } as const;

function client(e: ProviderEndpoint, timeoutMs: number): OpenAI {
  return new OpenAI({ baseURL: e.baseURL, apiKey: e.apiKey, maxRetries: 0, timeout: timeoutMs });
}

export function createProviders(config: Config, now?: () => number): Providers {
  const stage = (s: Stage): StageProvider => {
    const c = config[s];
    const p = new StageProvider(s, {
      primary: client(c, REQUEST_TIMEOUT_MS[s]),
      fallback: c.fallback ? { client: client(c.fallback, REQUEST_TIMEOUT_MS[s]), model: c.fallback.model } : null,
      timeoutMs: c.timeoutMs,
      circuit: { ...config.circuit, ...(now ? { now } : {}) },
      onSwitch: (st) => stageMetrics.providerFailovers.inc({ stage: st }),
    });
    if (p.breaker) {
      stageMetrics.providerCircuit.set({ stage: s }, 0);
      p.breaker.onChange((state) => stageMetrics.providerCircuit.set({ stage: s }, CIRCUIT_GAUGE[state]));
    }
    return p;
  };
  return { stt: stage('stt'), llm: stage('llm'), tts: stage('tts') };
}
