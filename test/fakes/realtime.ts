/** The realtime WebSocket endpoint (`/v1/realtime`), in the GA or beta dialect (docs/PROTOCOLS.md §1). */
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { EventEmitter } from 'node:events';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { failureBody, failureHeaders, randomId } from './http';
import { itemFromClient, serializeItem, toChatBody, type ConversationItem } from './realtime-conversation';
import { RealtimeResponse, type CancelReason } from './realtime-response';
import { applySessionUpdate, defaultSession, serializeSession, type Dialect, type SessionConfig } from './realtime-session';
import { EnergyVad, type VadEvent } from './realtime-vad';
import { messageText, takeChatReply, takeFailure, takeTranscript, type FakeScript } from './script';
import { concatSamples, decodeAudio, formatRate, samplesToBuffer, wavHeader } from './synth';

export type DialectOption = 'ga' | 'beta' | 'auto';

export interface RecordedRealtimeSession {
  headers: Record<string, string | string[] | undefined>;
  protocols: string[];
  /** The dialect the client asked for (auto) or was given (forced). */
  dialect: Dialect;
  query: Record<string, string>;
  clientEvents: Record<string, unknown>[];
  serverEvents: Record<string, unknown>[];
  closed?: { code: number; reason: string };
}

export interface RealtimeContext {
  script: FakeScript;
  dialect: DialectOption;
  /** Session fields this server leaves out of session.created/updated (FakeOpenAIOptions.realtimeOmitSessionFields). */
  omitSessionFields?: readonly string[];
  events: EventEmitter;
  sessions: RecordedRealtimeSession[];
}

const DEFAULT_MODEL = 'gpt-realtime';
const MIN_COMMIT_MS = 100;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function wantsBeta(req: IncomingMessage, protocols: string[]): boolean {
  const header = req.headers['openai-beta'];
  const values = Array.isArray(header) ? header : header ? [header] : [];
  return values.some((v) => v.includes('realtime=v1')) || protocols.includes('openai-beta.realtime-v1');
}

/** Attaches the realtime endpoint to `server`; returns the open sockets for dropRealtimeConnections. */
export function attachRealtime(server: Server, ctx: RealtimeContext): Set<WebSocket> {
  const sockets = new Set<WebSocket>();
  const wss = new WebSocketServer({
    noServer: true,
    // Select `realtime` like OpenAI (never the key entry); otherwise the first offered protocol.
    handleProtocols: (offered) => (offered.has('realtime') ? 'realtime' : ([...offered].find((p) => !p.startsWith('openai-insecure-api-key.')) ?? false)),
  });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = new URL(req.url ?? '/', 'http://fake');
    if (url.pathname !== '/v1/realtime') return rejectUpgrade(socket, 404, { error: { message: `No WebSocket route ${url.pathname}`, type: 'invalid_request_error', param: null, code: 'not_found' } });
    const failure = takeFailure(ctx.script, 'realtime');
    if (failure) return rejectUpgrade(socket, failure.status, failureBody(failure), failureHeaders(failure));
    wss.handleUpgrade(req, socket, head, (ws) => {
      sockets.add(ws);
      ws.on('close', () => sockets.delete(ws));
      const protocols = String(req.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim()).filter(Boolean);
      const beta = wantsBeta(req, protocols);
      const record: RecordedRealtimeSession = {
        headers: { ...req.headers },
        protocols,
        // Forced GA still records a beta client as beta: it is then rejected like OpenAI does.
        dialect: ctx.dialect === 'beta' || beta ? 'beta' : 'ga',
        query: Object.fromEntries(url.searchParams),
        clientEvents: [],
        serverEvents: [],
      };
      ctx.sessions.push(record);
      const connection = new RealtimeConnection(ws, record, ctx, url.searchParams.get('model') ?? DEFAULT_MODEL);
      ctx.events.emit('realtime:connection', record);
      if (ctx.dialect === 'ga' && beta) connection.rejectBetaShape();
      else connection.open();
    });
  });
  return sockets;
}

function rejectUpgrade(socket: Duplex, status: number, body: object, headers: Record<string, string> = {}): void {
  const payload = JSON.stringify(body);
  const lines = [`HTTP/1.1 ${status} Scripted failure`, 'content-type: application/json', `content-length: ${Buffer.byteLength(payload)}`, 'connection: close'];
  for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
  socket.end(`${lines.join('\r\n')}\r\n\r\n${payload}`);
}

class RealtimeConnection {
  private session: SessionConfig;
  private readonly dialect: Dialect;
  private readonly conversationId = randomId('conv_');
  private readonly items: ConversationItem[] = [];
  private readonly vad = new EnergyVad();
  /** Uncommitted input, decoded at the input format's rate, and where it starts on the input timeline. */
  private bufferChunks: Int16Array[] = [];
  private bufferLength = 0;
  private bufferStartMs = 0;
  private speechItemId: string | undefined;
  private response: RealtimeResponse | undefined;
  private responseFinished: Promise<void> = Promise.resolve();
  private audioProduced = false;

  constructor(private readonly ws: WebSocket, private readonly record: RecordedRealtimeSession, private readonly ctx: RealtimeContext, model: string) {
    this.dialect = record.dialect;
    this.session = defaultSession(model);
    ws.on('message', (data, isBinary) => this.onMessage(data, isBinary));
    ws.on('close', (code, reason) => {
      record.closed = { code, reason: reason.toString() };
      this.response?.dispose();
      ctx.events.emit('realtime:closed', record);
    });
  }

  open(): void {
    this.send({ type: 'session.created', session: this.reportedSession() });
    if (this.dialect === 'beta') this.send({ type: 'conversation.created', conversation: { id: this.conversationId, object: 'realtime.conversation' } });
  }

  private reportedSession(): object {
    const session = serializeSession(this.session, this.dialect) as Record<string, unknown>;
    for (const f of this.ctx.omitSessionFields ?? []) delete session[f];
    return session;
  }

  /** What api.openai.com does to beta clients since the beta shape was switched off (docs/PROTOCOLS.md §0). */
  rejectBetaShape(): void {
    this.error('beta_api_shape_disabled', 'The Realtime beta API shape is disabled. Use the GA interface (no OpenAI-Beta: realtime=v1 header).', null, undefined);
    this.ws.close(4000, 'beta_api_shape_disabled');
  }

  private send(event: Obj): void {
    const full = { event_id: randomId('event_'), ...event };
    this.record.serverEvents.push(full);
    this.ctx.events.emit('realtime:server-event', full, this.record);
    if (this.ws.readyState === this.ws.OPEN) this.ws.send(JSON.stringify(full));
  }

  private error(code: string, message: string, param: string | null, eventId: unknown, type = 'invalid_request_error'): void {
    this.send({ type: 'error', error: { type, code, message, param, event_id: typeof eventId === 'string' ? eventId : null } });
  }

  private onMessage(data: RawData, isBinary: boolean): void {
    let event: unknown;
    try {
      event = isBinary ? undefined : JSON.parse(data.toString());
    } catch {
      event = undefined;
    }
    if (!isObj(event) || typeof event.type !== 'string') {
      this.record.clientEvents.push({ invalid: data.toString().slice(0, 200) });
      return this.error('invalid_event', isBinary ? 'Binary frames are not supported; send JSON events.' : 'The event must be a JSON object with a string `type`.', null, undefined);
    }
    this.record.clientEvents.push(event);
    this.ctx.events.emit('realtime:client-event', event, this.record);
    this.handle(event as Obj & { type: string });
  }

  private handle(e: Obj & { type: string }): void {
    switch (e.type) {
      case 'session.update': return this.sessionUpdate(e);
      case 'input_audio_buffer.append': return this.append(e);
      case 'input_audio_buffer.commit': return this.manualCommit(e);
      case 'input_audio_buffer.clear': return this.clear();
      case 'conversation.item.create': return this.itemCreate(e);
      case 'conversation.item.truncate': return this.truncate(e);
      case 'conversation.item.delete': return this.itemDelete(e);
      case 'conversation.item.retrieve': return this.itemRetrieve(e);
      case 'response.create': return this.responseCreate(e);
      case 'response.cancel': return this.responseCancel(e);
      default:
        return this.error('invalid_event', `Invalid value: '${e.type}'. Unknown client event type.`, 'type', e.event_id);
    }
  }

  private sessionUpdate(e: Obj): void {
    const result = applySessionUpdate(this.session, e.session, this.dialect, { audioProduced: this.audioProduced });
    if ('error' in result) return this.error(result.error.code, result.error.message, result.error.param, e.event_id);
    this.session = result.session;
    this.send({ type: 'session.updated', session: this.reportedSession() });
  }

  private append(e: Obj): void {
    if (typeof e.audio !== 'string') return this.error('missing_required_parameter', "Missing required parameter: 'audio'.", 'audio', e.event_id);
    const samples = decodeAudio(Buffer.from(e.audio, 'base64'), this.session.inputFormat);
    // Chunks are joined only on commit: appending stays O(1) however long the caller is silent.
    this.bufferChunks.push(samples);
    this.bufferLength += samples.length;
    const td = this.session.turnDetection;
    if (!td) return;
    for (const vadEvent of this.vad.push(samples, formatRate(this.session.inputFormat), td)) this.onVad(vadEvent);
  }

  private onVad(v: VadEvent): void {
    const td = this.session.turnDetection;
    if (v.type === 'speech_started') {
      this.speechItemId = randomId('item_');
      this.send({ type: 'input_audio_buffer.speech_started', audio_start_ms: v.audioStartMs, item_id: this.speechItemId });
      if (td?.interrupt_response) this.cancelResponse('turn_detected');
      return;
    }
    const itemId = this.speechItemId ?? randomId('item_');
    this.speechItemId = undefined;
    this.send({ type: 'input_audio_buffer.speech_stopped', audio_end_ms: v.audioEndMs, item_id: itemId });
    this.commit(itemId, v.audioEndMs);
    if (!td?.create_response) return;
    if (!this.response) return this.startResponse({});
    // A reply cancelled by this very turn may not have sent response.done yet: answer right after it.
    if (this.response.cancelled) void this.responseFinished.then(() => !this.response && this.startResponse({}));
  }

  private bufferedMs(): number {
    return (this.bufferLength * 1000) / formatRate(this.session.inputFormat);
  }

  private manualCommit(e: Obj): void {
    if (this.bufferedMs() < MIN_COMMIT_MS) {
      return this.error('input_audio_buffer_commit_empty', `Error committing input audio buffer: buffer too small. Expected at least ${MIN_COMMIT_MS}ms of audio, but buffer only has ${this.bufferedMs().toFixed(2)}ms of audio.`, null, e.event_id);
    }
    this.vad.reset();
    this.commit(this.speechItemId ?? randomId('item_'));
    this.speechItemId = undefined;
  }

  /** Moves buffered audio (up to `untilMs` on the input timeline) into a user item. */
  private commit(itemId: string, untilMs?: number): void {
    const rate = formatRate(this.session.inputFormat);
    const buffered = concatSamples(...this.bufferChunks);
    const end = untilMs === undefined ? buffered.length : Math.min(buffered.length, Math.max(0, Math.round(((untilMs - this.bufferStartMs) * rate) / 1000)));
    const audio = buffered.subarray(0, end);
    this.bufferChunks = [buffered.slice(end)];
    this.bufferLength = buffered.length - end;
    this.bufferStartMs += (end * 1000) / rate;
    const previous = this.lastItemId();
    const pcm = samplesToBuffer(audio);
    const transcriptionFields: Record<string, string> = {};
    for (const [k, v] of Object.entries(this.session.transcription ?? { model: 'whisper-1' })) if (typeof v === 'string') transcriptionFields[k] = v;
    const heard = takeTranscript(this.ctx.script, {
      fields: transcriptionFields,
      file: { name: 'input.wav', type: 'audio/wav', size: pcm.length + 44, bytes: Buffer.concat([wavHeader(pcm.length, rate), pcm]) },
    });
    const item: ConversationItem = { id: itemId, type: 'message', status: 'completed', role: 'user', content: [{ type: 'input_audio', transcript: null }], heard };
    this.items.push(item);
    this.send({ type: 'input_audio_buffer.committed', previous_item_id: previous, item_id: itemId });
    this.announceItem(item, previous);
    if (this.session.transcription) {
      this.send({ type: 'conversation.item.input_audio_transcription.completed', item_id: itemId, content_index: 0, transcript: heard, usage: { type: 'duration', seconds: Math.max(1, Math.ceil(audio.length / rate)) } });
    }
  }

  private clear(): void {
    this.bufferStartMs += this.bufferedMs();
    this.bufferChunks = [];
    this.bufferLength = 0;
    this.vad.reset();
    this.speechItemId = undefined;
    this.send({ type: 'input_audio_buffer.cleared' });
  }

  private lastItemId(): string | null {
    return this.items[this.items.length - 1]?.id ?? null;
  }

  private announceItem(item: ConversationItem, previous: string | null): void {
    if (this.dialect === 'beta') return this.send({ type: 'conversation.item.created', previous_item_id: previous, item: serializeItem(item) });
    this.send({ type: 'conversation.item.added', previous_item_id: previous, item: serializeItem(item) });
    this.send({ type: 'conversation.item.done', previous_item_id: previous, item: serializeItem(item) });
  }

  private itemCreate(e: Obj): void {
    const result = itemFromClient(e.item, this.dialect, this.items);
    if ('error' in result) return this.error(result.error.code, result.error.message, result.error.param, e.event_id);
    const { item } = result;
    const audioPart = item.content?.find((p) => p.type === 'input_audio');
    if (audioPart) {
      const bytes = Buffer.from(audioPart.audio ?? '', 'base64');
      item.heard = takeTranscript(this.ctx.script, { fields: { model: 'whisper-1' }, file: { name: 'input.pcm', type: 'audio/pcm', size: bytes.length, bytes } });
    }
    const previous = this.lastItemId();
    if (e.previous_item_id === 'root') this.items.unshift(item);
    else this.items.push(item);
    this.announceItem(item, e.previous_item_id === 'root' ? null : previous);
  }

  private findItem(e: Obj): ConversationItem | undefined {
    const item = this.items.find((i) => i.id === e.item_id);
    if (!item) this.error('item_not_found', `Conversation item with id '${String(e.item_id)}' not found.`, 'item_id', e.event_id);
    return item;
  }

  private truncate(e: Obj): void {
    const item = this.findItem(e);
    if (!item) return;
    if (item.role !== 'assistant' || item.audioMs === undefined) {
      return this.error('invalid_value', 'Only assistant messages with audio can be truncated.', 'item_id', e.event_id);
    }
    const end = e.audio_end_ms;
    if (typeof end !== 'number' || end < 0) return this.error('invalid_value', "Invalid 'audio_end_ms': expected a non-negative integer.", 'audio_end_ms', e.event_id);
    if (end > item.audioMs) {
      return this.error('invalid_value', `Audio content of ${item.audioMs}ms is already shorter than ${end}ms`, 'audio_end_ms', e.event_id);
    }
    item.audioMs = end;
    // OpenAI drops the transcript of a truncated item: the model no longer "said" it.
    item.content = (item.content ?? []).map((p) => ({ ...p, transcript: '' }));
    this.send({ type: 'conversation.item.truncated', item_id: item.id, content_index: e.content_index ?? 0, audio_end_ms: end });
  }

  private itemDelete(e: Obj): void {
    const item = this.findItem(e);
    if (!item) return;
    this.items.splice(this.items.indexOf(item), 1);
    this.send({ type: 'conversation.item.deleted', item_id: item.id });
  }

  private itemRetrieve(e: Obj): void {
    const item = this.findItem(e);
    if (item) this.send({ type: 'conversation.item.retrieved', item: serializeItem(item) });
  }

  private responseCreate(e: Obj): void {
    if (this.response) {
      return this.error('conversation_already_has_active_response', `Conversation already has an active response in progress: ${this.response.id}. Wait until the response is finished before creating a new one.`, null, e.event_id);
    }
    this.startResponse(isObj(e.response) ? e.response : {});
  }

  private responseCancel(e: Obj): void {
    const active = this.response;
    if (!active || (typeof e.response_id === 'string' && e.response_id !== active.id)) {
      return this.error('response_cancel_not_active', 'Cancellation failed: no active response found.', null, e.event_id);
    }
    this.cancelResponse('client_cancelled');
  }

  private cancelResponse(reason: CancelReason): void {
    this.response?.cancel(reason);
  }

  /** Per-response overrides (either dialect's names), applied to a copy of the session. */
  private responseSession(overrides: Obj): SessionConfig {
    const s: SessionConfig = structuredClone(this.session);
    if (typeof overrides.instructions === 'string') s.instructions = overrides.instructions;
    const modalities = overrides.modalities ?? overrides.output_modalities;
    if (Array.isArray(modalities)) s.audio = modalities.includes('audio');
    const gaOutput = isObj(overrides.audio) && isObj(overrides.audio.output) ? overrides.audio.output : {};
    const voice = overrides.voice ?? gaOutput.voice;
    if (typeof voice === 'string') s.voice = voice;
    if (Array.isArray(overrides.tools)) s.tools = overrides.tools as SessionConfig['tools'];
    return s;
  }

  private startResponse(overrides: Obj): void {
    const session = this.responseSession(overrides);
    const inConversation = overrides.conversation !== 'none';
    const body = toChatBody(session, this.items);
    const response = new RealtimeResponse({
      dialect: this.dialect,
      session,
      conversationId: this.conversationId,
      inConversation,
      reply: takeChatReply(this.ctx.script, body),
      inputText: body.messages.map((m) => messageText(m)).join(' '),
      msPerChar: this.ctx.script.speech.msPerChar,
      firstDeltaDelayMs: this.ctx.script.delays.realtimeFirstDeltaMs,
      metadata: overrides.metadata,
      emit: (event) => this.send(event),
      addItem: (item) => {
        const previous = this.lastItemId();
        this.items.push(item);
        return previous;
      },
    });
    this.response = response;
    if (session.audio) this.audioProduced = true;
    this.responseFinished = response.start().finally(() => {
      if (this.response === response) this.response = undefined;
    });
  }
}
