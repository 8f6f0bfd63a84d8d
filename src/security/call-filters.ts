/**
 * Which output filter applies to a call: the call's business's `output_filter`, cached for a few
 * seconds so the stage log, transcripts and the audit log can redact on every write without a
 * Redis round trip each time (a config change takes effect within the cache lifetime).
 */
import type { Business } from '../contracts/business';
import { createRedactor, type Redactor } from '../core/redact';

export interface CallFilter {
  businessId: string;
  redact: Redactor | null;
  /** Also filter what the agent says (before TTS and the client). */
  speech: boolean;
}

type Lookup = (callId: string) => Promise<Pick<Business, 'id' | 'output_filter'> | null>;

const redactors = new Map<string, Redactor | null>();

/** The (memoised) redactor for a business's filter. */
export function redactorFor(b: Pick<Business, 'output_filter'>): Redactor | null {
  const key = JSON.stringify([b.output_filter.redact, b.output_filter.patterns]);
  if (!redactors.has(key)) {
    if (redactors.size > 500) redactors.clear();
    redactors.set(key, createRedactor(b.output_filter));
  }
  return redactors.get(key)!;
}

export class CallFilters {
  private readonly cache = new Map<string, { at: number; value: CallFilter | null }>();

  constructor(
    private readonly lookup: Lookup,
    private readonly ttlMs = 5_000,
  ) {}

  async forCall(callId: string): Promise<CallFilter | null> {
    const hit = this.cache.get(callId);
    if (hit && Date.now() - hit.at < this.ttlMs) return hit.value;
    const b = await this.lookup(callId);
    const value = b ? { businessId: b.id, redact: redactorFor(b), speech: b.output_filter.speech } : null;
    if (this.cache.size > 5_000) this.cache.clear();
    this.cache.set(callId, { at: Date.now(), value });
    return value;
  }

  async redactText(callId: string, text: string): Promise<string> {
    const f = await this.forCall(callId);
    return f?.redact ? f.redact(text) : text;
  }
}
