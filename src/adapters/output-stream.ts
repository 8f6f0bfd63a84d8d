/**
 * A call's output stream (Redis stream): workers append StageOutput records (audio as raw bytes
 * next to the JSON), the gateway reads them with blocking XREAD in order.
 */
import type { StageOutput } from '../contracts/output';
import { ExpiryRefresher, type Keys, type Redis } from './redis';

export interface OutputRecord {
  id: string;
  out: StageOutput;
  audio?: Buffer;
}

/** Enough for a long answer; older entries are trimmed (the gateway has read them long before). */
const MAX_LEN = 5_000;
/**
 * The stream is a transport, not a record: the gateway reads each entry within milliseconds, so it
 * expires a minute after its last write rather than after CALL_TTL_S (a day of every call's audio
 * would grow Redis by ~0.2 MB per turn). A reader blocked on an expired key resumes on the next write.
 */
const OUTPUT_TTL_S = 60;

export class OutputStream {
  private readonly expiry: ExpiryRefresher;

  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
    private readonly ttlS: number,
  ) {
    this.expiry = new ExpiryRefresher(redis);
  }

  async write(callId: string, out: StageOutput, audio?: Uint8Array): Promise<void> {
    const key = this.keys.callOutput(callId);
    const fields: (string | Buffer)[] = ['o', JSON.stringify(out)];
    if (audio) fields.push('a', Buffer.from(audio.buffer, audio.byteOffset, audio.byteLength));
    const written = this.redis.xadd(key, 'MAXLEN', '~', MAX_LEN, '*', ...fields);
    this.expiry.touch(key, Math.min(this.ttlS, OUTPUT_TTL_S));
    await written;
  }

  /** The id to start reading from so that only records written from now on are seen. */
  async tail(callId: string): Promise<string> {
    const last = await this.redis.xrevrange(this.keys.callOutput(callId), '+', '-', 'COUNT', 1);
    return last[0]?.[0] ?? '0-0';
  }

  /**
   * Reads records after `lastId`, blocking up to `blockMs` on the given connection (a blocking
   * XREAD holds its connection: give each reader its own).
   */
  static async read(conn: Redis, key: string, lastId: string, blockMs: number): Promise<OutputRecord[]> {
    const res = await conn.xreadBuffer('COUNT', 200, 'BLOCK', blockMs, 'STREAMS', key, lastId);
    if (!res) return [];
    return res.flatMap(([, entries]) => entries.map(decode)).filter((r): r is OutputRecord => r !== null);
  }

  /**
   * What earlier attempts of a turn's LLM job already sent (a redelivered job resumes from it):
   * the text so far, by offset, the sentences handed to TTS, by seq, and where in the text each
   * tool round's answer began (`roundStarts[r]`: the text's length when round r-1 asked for tools).
   */
  async turnText(callId: string, turnId: string): Promise<{ text: string; sentences: string[]; roundStarts: number[] }> {
    let text = '';
    const sentences: string[] = [];
    const roundStarts = [0];
    let start = '-';
    for (;;) {
      const page = await this.redis.xrangeBuffer(this.keys.callOutput(callId), start, '+', 'COUNT', 500);
      for (const entry of page) {
        const out = decode(entry)?.out;
        if (!out || out.turn_id !== turnId) continue;
        if (out.kind === 'text_delta' && out.offset + out.text.length > text.length) text = text.slice(0, out.offset) + out.text;
        else if (out.kind === 'sentence') sentences[out.seq] = out.text;
        else if (out.kind === 'function_call') {
          const round = toolRoundOf(out.item_id);
          if (round !== null) roundStarts[round + 1] ??= text.length;
        }
      }
      if (page.length < 500) return { text, sentences: sentences.filter((x) => x !== undefined), roundStarts };
      start = `(${page.at(-1)![0].toString()}`;
    }
  }
}

/** A chained-mode function call item: the tool round and the call's index in it are in its id. */
export function functionCallItemId(assistantItemId: string, round: number, index: number): string {
  return `${assistantItemId}_fc${round}_${index}`;
}

function toolRoundOf(itemId: string): number | null {
  const m = /_fc(\d+)_\d+$/.exec(itemId);
  return m ? Number(m[1]) : null;
}

function decode([idBuf, fields]: [Buffer, Buffer[]]): OutputRecord | null {
  let out: StageOutput | undefined;
  let audio: Buffer | undefined;
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const name = fields[i]!.toString();
    if (name === 'o') out = JSON.parse(fields[i + 1]!.toString()) as StageOutput;
    else if (name === 'a') audio = fields[i + 1];
  }
  return out ? { id: idBuf.toString(), out, ...(audio ? { audio } : {}) } : null;
}
