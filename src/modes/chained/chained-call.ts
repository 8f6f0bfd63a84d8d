/**
 * Chained mode for one connected call: the gateway's VAD finds turns, the utterance goes through
 * Redis to the STT → LLM → TTS workers, and their output (a per-call Redis stream) becomes the
 * same Realtime events OpenAI would send. Barge-in cancels the turn everywhere and truncates the
 * history to what was heard. The driver hands the work to small collaborators sharing one
 * ChainedState: input.ts (audio in, VAD, early transcription), client-events.ts, output.ts
 * (worker output → events) and barge-in.ts (cancel and truncate).
 */
import type { Business } from '../../contracts/business';
import type { CallRecord } from '../../contracts/call';
import type { ClientEvent } from '../../contracts/realtime';
import { OutputReader } from '../../adapters/output-reader';
import { serverEvents } from '../../core/protocol';
import type { Services } from '../../services';
import type { CallDriver, DriverHost } from '../driver';
import { BargeIn } from './barge-in';
import { ChainedState } from './call-state';
import { ChainedClientEvents } from './client-events';
import { ChainedInput } from './input';
import { ResponseOutput } from './output';

export class ChainedCall implements CallDriver {
  private readonly st: ChainedState;
  private readonly bargeIn: BargeIn;
  private readonly input: ChainedInput;
  private readonly output: ResponseOutput;
  private readonly clientEvents: ChainedClientEvents;
  private reader: OutputReader | null = null;

  constructor(s: Services, call: CallRecord, business: Business, host: DriverHost) {
    this.st = new ChainedState(s, call, business, host);
    this.bargeIn = new BargeIn(this.st);
    this.input = new ChainedInput(this.st, this.bargeIn, (err) => this.fail(err));
    this.output = new ResponseOutput(this.st);
    this.clientEvents = new ChainedClientEvents(this.st, this.input, this.bargeIn, (next, before) => this.output.sessionChanged(next, before));
  }

  async start(): Promise<void> {
    const { s, callId } = this.st;
    const from = await s.output.tail(callId);
    this.reader = new OutputReader(
      s.redis,
      s.keys.callOutput(callId),
      from,
      async (r) => {
        await this.output.onOutput(r);
        await this.bargeIn.falseInterruptions.onOutput(r.out);
        // A barge-in's transcript decides whether the cut answer resumes (after the client has it).
        if (r.out.kind === 'transcript') await this.bargeIn.falseInterruptions.onTranscript(r.out.turn_id, r.out.text);
        else if (r.out.kind === 'transcript_failed') await this.bargeIn.falseInterruptions.onTranscript(r.out.turn_id, null);
      },
      (err) => s.log.warn({ call_id: callId, err: err.message }, 'output stream read failed'),
    );
    this.reader.start();
    this.st.send(serverEvents.sessionCreated(this.st.wireSession()));
    this.st.send(serverEvents.conversationCreated(this.st.conversationId));
  }

  settled(): Promise<void> {
    return this.input.settled();
  }

  onAudio(bytes: Uint8Array): void {
    this.input.push(bytes);
  }

  onClientEvent(e: ClientEvent): Promise<void> {
    return this.clientEvents.handle(e);
  }

  async close(reason: string): Promise<void> {
    if (this.st.closed) return;
    this.st.closed = true;
    await this.bargeIn.falseInterruptions.close();
    if (this.st.active) await this.bargeIn.cancelTurn(this.st.active, 'client_cancelled', reason);
    await this.reader?.stop();
  }

  private fail(err: unknown): void {
    this.st.s.log.error({ call_id: this.st.callId, err: (err as Error).message }, 'chained call error');
    this.st.error('server_error', 'Internal error handling audio; the call goes on.', undefined, undefined, 'server_error');
  }
}
