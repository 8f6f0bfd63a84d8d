/**
 * What the realtime-mode gateway does per upstream audio delta, in-process:
 *   npx tsx bench/realtime-delta.ts [--iterations 5000]   (writes bench/out/realtime-delta.json)
 *
 * A 12.8 KB GA `response.output_audio.delta` (200 ms of PCM16 24 kHz, base64) as its bytes come
 * off the upstream socket, through what src/modes/realtime/upstream.ts and the stream route
 * (src/gateway/routes/stream.ts deliver) do with it:
 * - pass-through: parseUpstreamEvent keeps the bytes, and a client of the same dialect is sent
 *   them as they came (nothing to build);
 * - other dialect: the same parse, then toClientWireAll + JSON.stringify for a beta client;
 * - general path: a delta with one extra field, which takes the schema (zod), the translation and
 *   the stringify.
 * Best of 5 runs of `--iterations` each, after a warm-up run; µs per delta.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseUpstreamEvent, toClientWireAll, type Dialect } from '../src/core/protocol';
import { arg, machine, runMain } from './common';

const OUT = join(dirname(fileURLToPath(import.meta.url)), 'out', 'realtime-delta.json');

function delta(extra: object = {}): Buffer {
  const audio = Buffer.alloc(9_600, 7).toString('base64'); // 200 ms of PCM16 24 kHz → 12,800 characters
  return Buffer.from(JSON.stringify({ type: 'response.output_audio.delta', event_id: 'event_1', response_id: 'resp_1', item_id: 'item_1', output_index: 0, content_index: 0, delta: audio, ...extra }));
}

/** One delta through the parse and what the stream route's deliver does for a `client` dialect. */
function relay(bytes: Buffer, client: Dialect): number {
  const u = parseUpstreamEvent(bytes, 'ga');
  if (!u || !u.known) throw new Error('the delta did not parse as a known event');
  if (u.frame && client === 'ga') return u.frame.byteLength; // socket.send(frame.bytes)
  let n = 0;
  for (const wire of toClientWireAll(u.event, client)) n += JSON.stringify(wire).length;
  return n;
}

async function main(): Promise<void> {
  const iterations = Number(arg('iterations', '5000'));
  const cases = [
    { name: 'pass-through (GA upstream → GA client: bytes kept)', bytes: delta(), client: 'ga' as Dialect },
    { name: 'other dialect (GA upstream → beta client: translate + stringify)', bytes: delta(), client: 'beta' as Dialect },
    { name: 'general path (an extra field: schema + translate + stringify)', bytes: delta({ extra: 1 }), client: 'ga' as Dialect },
  ];
  const rows = cases.map((c) => {
    const run = (): number => {
      const t0 = performance.now();
      let sink = 0;
      for (let i = 0; i < iterations; i++) sink += relay(c.bytes, c.client);
      if (sink === 0) throw new Error('nothing relayed');
      return ((performance.now() - t0) * 1000) / iterations;
    };
    run(); // warm-up
    const us = Math.min(run(), run(), run(), run(), run());
    return { case: c.name, delta_bytes: c.bytes.length, us_per_delta: Math.round(us * 10) / 10 };
  });
  const report = { date: new Date().toISOString(), machine: machine(), iterations, rows };
  mkdirSync(dirname(OUT), { recursive: true });
  writeFileSync(OUT, JSON.stringify(report, null, 2));
  console.log(`Realtime mode, per upstream audio delta (${report.machine}), best of 5 × ${iterations}\n`);
  console.table(Object.fromEntries(rows.map((r) => [r.case, { 'delta bytes': r.delta_bytes, 'µs per delta': r.us_per_delta }])));
  console.log(`\nwrote ${OUT}`);
}

runMain(import.meta, main);
