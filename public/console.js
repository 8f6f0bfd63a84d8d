// The console: start a call, talk through the microphone (PCM16 24 kHz over the Realtime
// WebSocket), hear the agent, and watch the transcript, tool calls, stage log and waterfall.
import { api, fillBusinesses, initKey, rememberBusiness, showError } from './api.js';

const $ = (id) => document.getElementById(id);
const els = {
  key: $('key'), business: $('business'), dialect: $('dialect'), start: $('start'), hangup: $('hangup'), status: $('status'),
  error: $('error'), callId: $('call-id'), transcript: $('transcript'), waterfall: $('waterfall'), log: document.querySelector('#log tbody'),
  logText: $('log-text'), meter: $('meter-level'), meterBox: $('meter'), level: $('level'), vad: $('vad'), vadHint: $('vad-hint'),
};
/** How long the server may hear uninterrupted speech before the console explains why no turn ends. */
const LONG_SPEECH_MS = 8000;

/** Everything about the current call; replaced on each start. */
let call = null;

const key = () => els.key.value.trim();
const setStatus = (s) => { els.status.textContent = s; };

async function loadBusinesses() {
  showError(els.error, null);
  if (!key()) return;
  try {
    const { data } = await api(key(), '/v1/businesses');
    fillBusinesses(els.business, data, (b) => `${b.name} (${b.id}, ${b.mode})`);
    if (data.length === 0) els.business.replaceChildren(new Option('(no businesses: create one under Businesses)', ''));
  } catch (err) {
    showError(els.error, err);
  }
}

// ------------------------------------------------------------------ call lifecycle

// "Start call" is disabled from the click until the call has ended (a second start used to end the
// running call and wipe its transcript); "Hang up" is enabled only while a call runs.
async function startCall() {
  if (call || els.start.disabled) return;
  showError(els.error, null);
  const businessId = els.business.value;
  if (!businessId) return showError(els.error, new Error('Pick a business first.'));
  els.start.disabled = true;
  rememberBusiness(businessId);
  try {
    const created = await api(key(), '/v1/calls', { method: 'POST', json: { business_id: businessId } });
    const c = { id: created.id, secret: created.client_secret.value, ws: null, logs: null, audio: null, turns: new Map(), items: new Map(), tools: new Map(), t0: null, speechSince: null, silenceMs: null, level: -60 };
    call = c;
    els.callId.textContent = created.id;
    els.transcript.replaceChildren();
    els.log.replaceChildren();
    els.waterfall.replaceChildren(Object.assign(document.createElement('p'), { className: 'empty', textContent: 'Turns appear here when the agent has answered.' }));
    els.logText.href = `v1/calls/${created.id}/logs?format=text&token=${encodeURIComponent(call.secret)}`;
    els.logText.hidden = false;
    c.audio = await startAudio(c);
    if (call !== c) return void (await c.audio.close()); // ended while the microphone was opening
    connectSocket(c);
    followLogs(c);
    els.hangup.disabled = false;
  } catch (err) {
    showError(els.error, err);
    await hangUp();
  }
}

/** Ends the current call (the user hung up, or the server closed the socket) and resets the controls. */
async function hangUp(status = 'call ended') {
  const c = call;
  call = null;
  els.hangup.disabled = true;
  if (c) {
    c.ws?.close(1000, 'hang up');
    c.logs?.close();
    await c.audio?.close();
    try {
      await api(c.secret, `/v1/calls/${c.id}`, { method: 'DELETE' });
    } catch {
      /* already ended */
    }
    setStatus(status);
  }
  // A "…" bubble is speech the server heard but never transcribed: with the call over it never will be.
  for (const li of els.transcript.querySelectorAll('li.user.pending')) if (li.textContent === '…') li.remove();
  setVad(null, 'idle');
  showLevel(null);
  els.start.disabled = false;
}

// ------------------------------------------------------------------ input level and VAD state

/** The meter: the mic's RMS per 20 ms chunk in dBFS, -60..0 mapped to 0..100 %; null resets it. */
function showLevel(rms) {
  const db = rms ? Math.max(-60, 20 * Math.log10(rms)) : -60;
  els.meter.style.width = `${Math.round(((db + 60) / 60) * 100)}%`;
  els.meterBox.setAttribute('aria-valuenow', String(Math.round(db)));
  els.level.textContent = rms === null ? '– dBFS' : db <= -60 ? '< -60 dBFS' : `${Math.round(db)} dBFS`;
  if (call) {
    call.level = db;
    explainLongSpeech(call);
  }
}

/** The server's VAD state: speaking between speech_started and speech_stopped, silence otherwise. */
function setVad(c, state) {
  els.vad.dataset.state = state;
  els.vad.textContent = `VAD: ${state}`;
  if (c) c.speechSince = state === 'speaking' ? performance.now() : null;
  if (state !== 'speaking') els.vadHint.hidden = true;
}

// Runs on every mic chunk: when the server has heard speech for long, say why no turn ends yet.
function explainLongSpeech(c) {
  if (c.speechSince === null) return;
  const ms = performance.now() - c.speechSince;
  if (ms < 3000) return;
  els.vad.textContent = `VAD: speaking ${Math.floor(ms / 1000)} s`;
  if (ms < LONG_SPEECH_MS) return;
  const pause = c.silenceMs ? `a ${c.silenceMs} ms` : 'a';
  els.vadHint.textContent =
    `The server has heard speech for ${Math.floor(ms / 1000)} s (input now ${Math.round(c.level)} dBFS): a turn ends only after ${pause} pause ` +
    'below the VAD threshold. Shorter pauses do not count; background noise, music or a hot microphone keeps the turn open.';
  els.vadHint.hidden = false;
}

// ------------------------------------------------------------------ audio in and out

async function startAudio(c) {
  const ctx = new AudioContext();
  await ctx.audioWorklet.addModule('mic-worklet.js');
  const stream = await navigator.mediaDevices.getUserMedia({ audio: { channelCount: 1, echoCancellation: true, noiseSuppression: true, autoGainControl: true } });
  const source = ctx.createMediaStreamSource(stream);
  const capture = new AudioWorkletNode(ctx, 'pcm16-capture', { processorOptions: { targetRate: 24000 } });
  capture.port.onmessage = (e) => {
    if (call === c) showLevel(e.data.rms);
    if (c.ws?.readyState === WebSocket.OPEN) c.ws.send(e.data.pcm);
  };
  source.connect(capture);
  capture.connect(ctx.destination); // outputs silence; keeps the node pulled by the graph
  if (ctx.state === 'suspended') await ctx.resume();
  let playHead = 0;
  const playing = new Set();
  return {
    /** Queues 24 kHz PCM16 for gapless playback. */
    play(base64) {
      const bytes = Uint8Array.from(atob(base64), (ch) => ch.charCodeAt(0));
      const pcm = new Int16Array(bytes.buffer, 0, bytes.length >> 1);
      if (pcm.length === 0) return;
      const buf = ctx.createBuffer(1, pcm.length, 24000);
      const data = buf.getChannelData(0);
      for (let i = 0; i < pcm.length; i++) data[i] = pcm[i] / 0x8000;
      const node = ctx.createBufferSource();
      node.buffer = buf;
      node.connect(ctx.destination);
      playHead = Math.max(playHead, ctx.currentTime + 0.05);
      node.start(playHead);
      playHead += buf.duration;
      playing.add(node);
      node.onended = () => playing.delete(node);
    },
    /** Barge-in: stop what is queued at once. */
    stop() {
      for (const n of playing) n.stop();
      playing.clear();
      playHead = 0;
    },
    async close() {
      stream.getTracks().forEach((t) => t.stop());
      await ctx.close();
    },
  };
}

// ------------------------------------------------------------------ the Realtime WebSocket

function connectSocket(c) {
  const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const base = new URL('.', location.href);
  const url = `${proto}//${base.host}${base.pathname}v1/calls/${c.id}/stream?token=${encodeURIComponent(c.secret)}&dialect=${els.dialect.value}`;
  const ws = new WebSocket(url);
  c.ws = ws;
  setStatus('connecting…');
  ws.onopen = () => {
    setStatus('connected: speak now');
    setVad(c, 'silence');
  };
  ws.onclose = (e) => {
    // The server ended the call (end_call, timeout, error): end it here too so Start works again.
    if (call === c) void hangUp(`disconnected${e.reason ? `: ${e.reason}` : ''}`);
  };
  ws.onmessage = (msg) => {
    if (typeof msg.data === 'string') onServerEvent(c, JSON.parse(msg.data));
  };
}

function line(c, key, cls, text) {
  let li = key ? c.items.get(key) : null;
  if (!li) {
    li = document.createElement('li');
    if (key) c.items.set(key, li);
    els.transcript.append(li);
  }
  li.className = cls;
  if (text !== undefined) li.textContent = text;
  li.scrollIntoView({ block: 'nearest' });
  return li;
}

function onServerEvent(c, e) {
  switch (e.type) {
    case 'session.created':
    case 'session.updated': {
      const td = e.session?.audio?.input?.turn_detection ?? e.session?.turn_detection;
      c.silenceMs = td?.silence_duration_ms ?? c.silenceMs;
      return;
    }
    case 'input_audio_buffer.speech_started':
      c.audio?.stop();
      line(c, `user:${e.item_id}`, 'user pending', '…');
      setVad(c, 'speaking');
      setStatus('listening…');
      return;
    case 'input_audio_buffer.speech_stopped':
      setVad(c, 'silence');
      setStatus('thinking…');
      return;
    case 'conversation.item.input_audio_transcription.completed':
      line(c, `user:${e.item_id}`, 'user', e.transcript || '(nothing recognised)');
      return;
    case 'conversation.item.input_audio_transcription.failed':
      line(c, `user:${e.item_id}`, 'user pending', `(transcription failed: ${e.error?.message ?? 'unknown error'})`);
      return;
    case 'response.audio_transcript.delta':
    case 'response.output_audio_transcript.delta':
    case 'response.text.delta':
    case 'response.output_text.delta': {
      const li = line(c, `assistant:${e.item_id}`, 'assistant');
      li.textContent += e.delta;
      setStatus('agent speaking');
      return;
    }
    case 'response.audio.delta':
    case 'response.output_audio.delta':
      c.audio?.play(e.delta);
      return;
    case 'response.function_call_arguments.done':
      c.tools.set(e.call_id, line(c, `tool:${e.call_id}`, 'tool', `🔧 ${e.name ?? 'tool'}(${e.arguments}) …`));
      return;
    case 'response.function_call.done':
      line(c, `tool:${e.call_id}`, 'tool', `🔧 ${e.name}(${e.arguments}) → ${e.output}  [${e.duration_ms} ms]`);
      return;
    case 'response.done': {
      const status = e.response?.status;
      for (const item of e.response?.output ?? []) {
        const li = c.items.get(`assistant:${item.id}`);
        if (li && status === 'cancelled') li.classList.add('cut');
      }
      setStatus(status === 'completed' ? 'connected: speak now' : `response ${status}`);
      return;
    }
    case 'error':
      line(c, null, 'system', `error: ${e.error?.message ?? JSON.stringify(e.error)}`);
      return;
    default:
      return;
  }
}

// ------------------------------------------------------------------ stage log and waterfall

function followLogs(c) {
  const es = new EventSource(`v1/calls/${c.id}/logs?follow=1&token=${encodeURIComponent(c.secret)}`);
  c.logs = es;
  let refresh = null;
  es.onmessage = (msg) => {
    const entry = JSON.parse(msg.data);
    appendLogRow(c, entry);
    // A turn ended (or its audio started): redraw the waterfall from the server's numbers.
    if ((entry.stage === 'gateway' && ['first_output', 'completed', 'cancelled'].includes(entry.event)) || (entry.stage === 'realtime' && entry.event !== 'started')) {
      clearTimeout(refresh);
      refresh = setTimeout(() => void drawWaterfall(c), 100);
    }
  };
}

function turnLabel(c, turnId) {
  if (!turnId) return '';
  if (!c.turns.has(turnId)) c.turns.set(turnId, `T${c.turns.size + 1}`);
  return c.turns.get(turnId);
}

function appendLogRow(c, e) {
  c.t0 ??= e.ts;
  const tr = document.createElement('tr');
  tr.className = e.event;
  const details = Object.entries(e.data ?? {})
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
  const cells = [`+${((e.ts - c.t0) / 1000).toFixed(3)}s`, turnLabel(c, e.turn_id), e.stage, e.event + (e.attempt > 1 ? ` #${e.attempt}` : ''), e.duration_ms === null ? '' : `${e.duration_ms}ms`, details];
  cells.forEach((text, i) => {
    const td = document.createElement('td');
    td.textContent = text;
    if (i === 4) td.className = 'num';
    tr.append(td);
  });
  els.log.append(tr);
  tr.scrollIntoView({ block: 'nearest' });
}

const SEGMENTS = [
  ['stt', null, 'stt_done_ms'],
  ['llm', 'stt_done_ms', 'llm_first_token_ms'],
  ['tts', 'llm_first_token_ms', 'tts_first_audio_ms'],
  ['send', 'tts_first_audio_ms', 'first_audio_sent_ms'],
  ['play', 'first_audio_sent_ms', 'response_done_ms'],
];

async function drawWaterfall(c) {
  let turns;
  try {
    ({ data: turns } = await api(c.secret, `/v1/calls/${c.id}/turns`));
  } catch (err) {
    return showError(els.error, err);
  }
  turns = turns.filter((t) => t.first_audio_sent_ms !== null || t.response_done_ms !== null || t.llm_first_token_ms !== null);
  if (turns.length === 0) return;
  const end = (t) => Math.max(...SEGMENTS.map(([, , to]) => t[to] ?? 0));
  const scale = Math.max(...turns.map(end), 1);
  const rows = turns.map((t) => {
    const row = document.createElement('div');
    row.className = 'turn';
    row.dataset.turn = t.turn_id;
    const label = Object.assign(document.createElement('span'), { textContent: turnLabel(c, t.turn_id), title: t.turn_id });
    const track = Object.assign(document.createElement('div'), { className: 'track' });
    let from = 0;
    for (const [name, fromKey, toKey] of SEGMENTS) {
      const start = fromKey === null ? 0 : t[fromKey] ?? from;
      const stop = t[toKey];
      if (stop === null || stop === undefined) continue;
      const bar = document.createElement('div');
      bar.className = `bar ${name}`;
      bar.style.left = `${(start / scale) * 100}%`;
      bar.style.width = `${(Math.max(0, stop - start) / scale) * 100}%`;
      bar.title = `${name}: ${start} → ${stop} ms`;
      track.append(bar);
      from = stop;
    }
    const first = t.first_audio_sent_ms ?? t.tts_first_audio_ms;
    const total = Object.assign(document.createElement('span'), {
      className: 'total',
      textContent: first === null ? '-' : `${first} ms`,
      title: `first audio ${first ?? '-'} ms; done ${t.response_done_ms ?? '-'} ms${t.cancelled ? ' (cancelled)' : ''}`,
    });
    row.append(label, track, total);
    return row;
  });
  els.waterfall.replaceChildren(...rows);
}

// ------------------------------------------------------------------ wiring

els.start.addEventListener('click', () => void startCall());
els.hangup.addEventListener('click', () => void hangUp());
els.business.addEventListener('change', () => rememberBusiness(els.business.value));
window.addEventListener('beforeunload', () => call?.ws?.close());

await initKey(els.key, () => void loadBusinesses());
await loadBusinesses();
document.body.dataset.ready = '1';
