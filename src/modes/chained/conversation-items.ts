/**
 * The conversation's items as the client knows them (user audio and text, assistant messages,
 * function calls and their outputs), for conversation.item.retrieve / delete / truncate. What the
 * model sees is the call's history in Redis; this keeps the item shapes OpenAI reports, and the
 * caller's recent audio so a retrieved user audio item carries it as OpenAI's does.
 */
import type { ConversationItem } from '../../contracts/realtime';
import { OutputEncoder, type AudioFormat } from '../../core/audio/formats';

interface Entry {
  item: ConversationItem;
  /** The caller's audio of a user item (PCM16 16 kHz), kept for the most recent ones only. */
  audio?: Int16Array;
}

/** Items remembered per call; older ones are long gone from a voice call's working context. */
const MAX_ITEMS = 256;
/** User items whose audio is kept (a few seconds each). */
const MAX_AUDIO = 8;

export class ConversationItems {
  private readonly items = new Map<string, Entry>();
  /** Deleted ids: a worker's late write for one (a transcript) must not bring it back. */
  private readonly deleted = new Set<string>();

  add(item: ConversationItem & { id: string }, audio?: Int16Array): void {
    this.items.delete(item.id);
    this.items.set(item.id, { item: structuredClone(item), ...(audio ? { audio } : {}) });
    if (this.items.size > MAX_ITEMS) this.items.delete(this.items.keys().next().value!);
    if (audio) this.dropOldAudio();
  }

  get(itemId: string): ConversationItem | undefined {
    return this.items.get(itemId)?.item;
  }

  wasDeleted(itemId: string): boolean {
    return this.deleted.has(itemId);
  }

  delete(itemId: string): boolean {
    if (!this.items.delete(itemId)) return false;
    this.deleted.add(itemId);
    return true;
  }

  /** A user audio item's transcript is in (input_audio_transcription.completed). */
  setUserTranscript(itemId: string, transcript: string): void {
    const item = this.items.get(itemId)?.item;
    if (item?.type !== 'message') return;
    for (const p of item.content) if (p.type === 'input_audio') p.transcript = transcript;
  }

  /** The item as conversation.item.retrieved carries it: a user audio item with its audio in `format`. */
  retrieved(itemId: string, format: AudioFormat): ConversationItem | undefined {
    const entry = this.items.get(itemId);
    if (!entry) return undefined;
    const item = structuredClone(entry.item);
    if (entry.audio && item.type === 'message') {
      const audio = encodeAudio(entry.audio, format);
      for (const p of item.content) if (p.type === 'input_audio') p.audio = audio;
    }
    return item;
  }

  private dropOldAudio(): void {
    const withAudio = [...this.items.values()].filter((e) => e.audio);
    for (const e of withAudio.slice(0, Math.max(0, withAudio.length - MAX_AUDIO))) delete e.audio;
  }
}

/** The caller's 16 kHz audio in the session's input format (pcm16 is 24 kHz, G.711 8 kHz), base64. */
function encodeAudio(pcm16k: Int16Array, format: AudioFormat): string {
  const enc = new OutputEncoder(format, 16_000);
  return Buffer.concat([enc.push(pcm16k), enc.flush()]).toString('base64');
}
