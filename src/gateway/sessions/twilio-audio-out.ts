/**
 * The Twilio transport's audio sink (modes/driver.ts AudioSink): the agent's μ-law audio goes out
 * as 20 ms frames paced in real time (plus a small lead against network jitter), with marks that
 * Twilio echoes once the audio before them has played. It owns the playback position, once
 * (core/twilio/playout.ts over the played rule of core/played.ts): on barge-in `interrupt()` clears
 * Twilio's queue and says what the caller heard.
 */
import { twilioOut } from '../../core/twilio/messages';
import { FRAME_MS, TwilioPlayout, type Interruption } from '../../core/twilio/playout';
import type { AudioSink } from '../../modes/driver';

/** Frames sent ahead of real time, so network jitter does not starve Twilio's player. */
const LEAD_FRAMES = 2;

export class TwilioAudioOut implements AudioSink {
  private readonly playout = new TwilioPlayout();
  private pacer: NodeJS.Timeout | null = null;
  private clock: { t0: number; frames: number } | null = null;
  private closed = false;

  constructor(
    private readonly streamSid: () => string,
    private readonly sendTwilio: (msg: object) => void,
  ) {}

  push(itemId: string, ulaw: Uint8Array): void {
    this.playout.push(itemId, ulaw);
    this.pump();
  }

  finish(itemId: string): void {
    this.playout.finish(itemId);
    this.pump();
  }

  /** Twilio echoed a mark: the audio before it was played. */
  onMark(name: string): void {
    this.playout.onMark(name);
  }

  /** Whether the caller may still be hearing (or about to hear) agent audio. */
  get playing(): boolean {
    return this.playout.playing;
  }

  /** Barge-in: stops the audio (Twilio's queue cleared) and says what was heard of the item playing. */
  interrupt(): Interruption | null {
    const cut = this.playout.interrupt(Date.now());
    this.pump(); // stops the pacer: the queue is empty now
    if (cut) this.sendTwilio(twilioOut.clear(this.streamSid()));
    return cut;
  }

  close(): void {
    this.closed = true;
    if (this.pacer) clearInterval(this.pacer);
    this.pacer = null;
  }

  /** Sends the frames due by now (real time plus a small lead) and the marks between them. */
  private readonly pump = (): void => {
    if (this.closed) return;
    const now = Date.now();
    if (this.playout.isEmpty) {
      if (this.pacer) clearInterval(this.pacer);
      this.pacer = null;
      this.clock = null;
      return;
    }
    this.clock ??= { t0: now, frames: 0 };
    const due = Math.floor((now - this.clock.t0) / FRAME_MS) + 1 + LEAD_FRAMES - this.clock.frames;
    for (let sent = 0; ; ) {
      if (sent >= due && this.playout.peekIsMedia) break;
      const o = this.playout.next(now);
      if (!o) break;
      if (o.event === 'media') {
        sent++;
        this.clock.frames++;
        this.sendTwilio(twilioOut.media(this.streamSid(), o.payload));
      } else this.sendTwilio(twilioOut.mark(this.streamSid(), o.name));
    }
    this.pacer ??= setInterval(this.pump, FRAME_MS);
  };
}
