/**
 * What a chained call's collaborators (input, client events, worker output, barge-in) share: the
 * session, the turns in flight, the conversation's last item, the way out to the client, and the
 * one place the driver queues a turn's LLM job.
 */
import type { Business } from '../../contracts/business';
import type { CallRecord } from '../../contracts/call';
import type { RealtimeSession, ServerEvent } from '../../contracts/realtime';
import type { Session } from '../../contracts/session';
import { TurnJobs } from '../../adapters/turn-jobs';
import { Utterances } from '../../adapters/utterances';
import { newId, ResponseEmitter, serverEvents } from '../../core/protocol';
import type { Services } from '../../services';
import type { DriverHost } from '../driver';
import { ConversationItems } from './conversation-items';
import { HeardHistory } from './heard-history';
import { createTurn, type Turn } from './turn';

export class ChainedState {
  session: Session;
  readonly conversationId = newId('conv');
  readonly turns = new Map<string, Turn>();
  /** The turn whose response is playing or being produced. */
  active: Turn | null = null;
  lastItemId: string | null = null;
  /** Manual commits whose transcript has not arrived yet. */
  readonly awaitingTranscript = new Set<string>();
  readonly heard: HeardHistory;
  /** The conversation's items as the client knows them (retrieve / delete / truncate). */
  readonly items = new ConversationItems();
  /**
   * A response.create that came while the previous response, ended by a client tool's function
   * call, was still closing: it starts once that one is done (one answer, not an error).
   */
  nextResponse: (() => Promise<void>) | null = null;
  readonly jobs: TurnJobs;
  readonly utterances: Utterances;
  closed = false;

  constructor(
    readonly s: Services,
    readonly call: CallRecord,
    readonly business: Business,
    readonly host: DriverHost,
  ) {
    this.session = call.session;
    this.heard = new HeardHistory(s, call.id);
    this.jobs = new TurnJobs(s.queues, s.stageLog);
    this.utterances = new Utterances(s.redis, s.keys);
  }

  get callId(): string {
    return this.call.id;
  }

  /** Speech that starts a turn or interrupts the agent (business.interruption). */
  get minSpeechMs(): number {
    return this.business.interruption?.min_speech_ms ?? 200;
  }

  newTurn(): Turn {
    const turn = createTurn(this.session.modalities);
    this.turns.set(turn.id, turn);
    return turn;
  }

  setActive(turn: Turn): void {
    turn.responding = true;
    this.active = turn;
  }

  /** The turn is over (done, cancelled or failed): an answer with audio is remembered for truncation. */
  retire(turn: Turn): void {
    turn.responding = false;
    if (this.active === turn) this.active = null;
    this.turns.delete(turn.id);
    this.heard.remember(turn);
    for (const item of turn.emitter?.output ?? []) if (item.id) this.items.add({ ...item, id: item.id });
    const next = this.nextResponse;
    this.nextResponse = null;
    if (next && !this.closed) {
      next().catch((err: unknown) => {
        this.s.log.error({ call_id: this.callId, err: (err as Error).message }, 'deferred response.create failed');
        this.error('server_error', 'Could not start the response.', undefined, undefined, 'server_error');
      });
    }
  }

  /** The turn's LLM job; `afterStt`: queued with a spoken turn's STT job, it waits for the transcript. */
  queueLlm(turn: Turn, afterStt = false): Promise<void> {
    const overrides = turn.overrides;
    return this.jobs.llm({
      call_id: this.call.id,
      turn_id: turn.id,
      response_id: turn.responseId,
      assistant_item_id: turn.assistantItemId,
      business_id: this.call.business_id,
      ...(afterStt ? { after_stt: true } : {}),
      ...(overrides && Object.keys(overrides).length ? { overrides } : {}),
    });
  }

  send(e: ServerEvent): void {
    this.host.send(e);
  }

  /** Opens the turn's response (response.created), after the last item of the conversation. */
  openResponse(turn: Turn): ResponseEmitter {
    const emitter = new ResponseEmitter({
      responseId: turn.responseId,
      conversationId: this.conversationId,
      modalities: turn.modalities,
      previousItemId: this.lastItemId,
      voice: this.session.voice,
      outputAudioFormat: this.session.output_audio_format,
    });
    turn.emitter = emitter;
    this.sendAll(emitter.created());
    return emitter;
  }

  sendAll(events: readonly ServerEvent[]): void {
    for (const e of events) this.host.send(e);
  }

  error(code: string, message: string, eventId?: string, param?: string, type = 'invalid_request_error'): void {
    this.host.send(serverEvents.error({ type, code, message, ...(param ? { param } : {}), ...(eventId ? { event_id: eventId } : {}) }));
  }

  wireSession(): RealtimeSession {
    const { model, ...rest } = this.session;
    return { id: this.call.id.replace('call_', 'sess_'), object: 'realtime.session', model, ...rest } as RealtimeSession;
  }
}
