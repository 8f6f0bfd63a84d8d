/**
 * Tenant isolation: every route × every kind of caller. Business A's resources are the target;
 * "other" principals belong to business B. A business key or client secret must never see or
 * touch another business's config, keys, customers, audit log, calls or call logs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RealtimeClient } from '../helpers/realtime-client';
import { ADMIN_KEY, SIMPLE_BUSINESS, startService, type TestService } from '../helpers/service';

type Who = 'none' | 'wrong' | 'revoked' | 'admin' | 'own_key' | 'other_key' | 'own_call' | 'other_call';
const EVERYONE: Who[] = ['none', 'wrong', 'revoked', 'admin', 'own_key', 'other_key', 'own_call', 'other_call'];

let svc: TestService;
const keys = {} as Record<Who, string | null>;
let callA = '';
let callB = '';

const LIMITS = { limits: { requests_per_minute: 100_000, max_concurrent_calls: 1_000 } };

async function createCall(businessId: string) {
  const res = await svc.api('/v1/calls', { method: 'POST', json: { business_id: businessId } });
  return (await res.json()) as { id: string; client_secret: { value: string } };
}

beforeAll(async () => {
  svc = await startService({ workers: false });
  for (const id of ['tenant-a', 'tenant-b']) await svc.api(`/v1/businesses/${id}`, { method: 'PUT', json: { ...SIMPLE_BUSINESS, ...LIMITS } });
  const key = async (id: string) => (await (await svc.api(`/v1/businesses/${id}/keys`, { method: 'POST' })).json()) as { id: string; key: string };
  const revoked = await key('tenant-a');
  await svc.api(`/v1/businesses/tenant-a/keys/${revoked.id}`, { method: 'DELETE' });
  const a = await createCall('tenant-a');
  const b = await createCall('tenant-b');
  callA = a.id;
  callB = b.id;
  Object.assign(keys, {
    none: null,
    wrong: 'vak_not-a-real-key',
    revoked: revoked.key,
    admin: undefined as unknown as string, // the helper's default: the admin key
    own_key: (await key('tenant-a')).key,
    other_key: (await key('tenant-b')).key,
    own_call: a.client_secret.value,
    other_call: b.client_secret.value,
  });
});
afterAll(async () => {
  await svc?.stop();
});

function keyOf(who: Who): string | null | undefined {
  return who === 'admin' ? undefined : keys[who];
}

function expected(who: Who, allowed: readonly Who[], ok: number): number {
  if (who === 'none' || who === 'wrong' || who === 'revoked') return 401;
  return allowed.includes(who) ? ok : 403;
}

interface Row {
  name: string;
  method: string;
  path: () => string;
  body?: unknown;
  allowed: readonly Who[];
  ok: number;
}

const ADMIN_ONLY: Who[] = ['admin'];
const BUSINESS: Who[] = ['admin', 'own_key'];
const CALL: Who[] = ['admin', 'own_key', 'own_call'];

const ROWS: Row[] = [
  { name: 'replace the business', method: 'PUT', path: () => '/v1/businesses/tenant-a', body: { ...SIMPLE_BUSINESS, ...LIMITS }, allowed: ADMIN_ONLY, ok: 200 },
  { name: 'read the business', method: 'GET', path: () => '/v1/businesses/tenant-a', allowed: BUSINESS, ok: 200 },
  { name: 'create a key', method: 'POST', path: () => '/v1/businesses/tenant-a/keys', allowed: ADMIN_ONLY, ok: 201 },
  { name: 'list keys', method: 'GET', path: () => '/v1/businesses/tenant-a/keys', allowed: ADMIN_ONLY, ok: 200 },
  { name: 'revoke a key', method: 'DELETE', path: () => '/v1/businesses/tenant-a/keys/bk_nonexistent', allowed: ADMIN_ONLY, ok: 404 },
  { name: 'write a customer', method: 'PUT', path: () => '/v1/businesses/tenant-a/customers/+15550100123', body: { name: 'Jane' }, allowed: BUSINESS, ok: 200 },
  { name: 'read a customer', method: 'GET', path: () => '/v1/businesses/tenant-a/customers/+15550100123', allowed: BUSINESS, ok: 200 },
  { name: 'read the audit log', method: 'GET', path: () => '/v1/businesses/tenant-a/audit', allowed: BUSINESS, ok: 200 },
  { name: 'create a call', method: 'POST', path: () => '/v1/calls', body: { business_id: 'tenant-a' }, allowed: BUSINESS, ok: 201 },
  { name: 'read a call', method: 'GET', path: () => `/v1/calls/${callA}`, allowed: CALL, ok: 200 },
  { name: "read a call's stage log", method: 'GET', path: () => `/v1/calls/${callA}/logs`, allowed: CALL, ok: 200 },
  { name: "read a call's stage log as text", method: 'GET', path: () => `/v1/calls/${callA}/logs?format=text`, allowed: CALL, ok: 200 },
  { name: 'read the builtin tool definitions (not tenant data)', method: 'GET', path: () => '/v1/tools/customer_support', allowed: ['admin', 'own_key', 'other_key', 'own_call', 'other_call'], ok: 200 },
  { name: "read a call's waterfall", method: 'GET', path: () => `/v1/calls/${callA}/turns`, allowed: CALL, ok: 200 },
];

describe('auth matrix', () => {
  for (const row of ROWS) {
    for (const who of EVERYONE) {
      const want = expected(who, row.allowed, row.ok);
      it(`${row.name}: ${who} gets ${want}`, async () => {
        const res = await svc.api(row.path(), { method: row.method, key: keyOf(who), ...(row.body !== undefined ? { json: row.body } : {}) });
        expect(res.status).toBe(want);
        if (want === 403) expect(((await res.json()) as { error: { type: string } }).error.type).toBe('permission_error');
      });
    }
  }

  for (const who of EVERYONE) {
    const want = expected(who, ADMIN_ONLY, 200);
    it(`delete a business: ${who} gets ${want}`, async () => {
      await svc.api('/v1/businesses/tenant-doomed', { method: 'PUT', json: SIMPLE_BUSINESS });
      const res = await svc.api('/v1/businesses/tenant-doomed', { method: 'DELETE', key: keyOf(who) });
      // Only the admin may delete; A's and B's keys do not even reach a third business.
      expect(res.status).toBe(want);
    });
  }

  /** A fresh active call in business A, and the key `who` uses on it (own_call: that call's own secret). */
  async function freshCall(who: Who) {
    const call = await createCall('tenant-a');
    return { id: call.id, key: who === 'own_call' ? call.client_secret.value : keyOf(who) };
  }

  for (const who of EVERYONE) {
    const want = expected(who, CALL, 200);
    it(`hang up a call: ${who} gets ${want}`, async () => {
      const call = await freshCall(who);
      const res = await svc.api(`/v1/calls/${call.id}`, { method: 'DELETE', key: call.key });
      expect(res.status).toBe(want);
      const status = ((await (await svc.api(`/v1/calls/${call.id}`)).json()) as { status: string }).status;
      expect(status).toBe(want === 200 ? 'ended' : 'active');
    });
  }

  for (const who of EVERYONE) {
    const want = expected(who, CALL, 101);
    it(`open a call's WebSocket: ${who} gets ${want}`, async () => {
      const call = await freshCall(who);
      const connect = RealtimeClient.connect(`${svc.wsUrl}/v1/calls/${call.id}/stream`, call.key === null ? {} : { key: call.key ?? ADMIN_KEY });
      if (want !== 101) return expect(connect).rejects.toThrow(`HTTP ${want}`);
      const c = await connect;
      await c.waitFor('session.created');
      c.close();
      await c.closed;
    });
  }

  for (const who of EVERYONE) {
    const want = expected(who, BUSINESS, 101);
    it(`open the drop-in realtime URL for a business: ${who} gets ${want}`, async () => {
      const key = keyOf(who);
      const connect = RealtimeClient.connect(`${svc.wsUrl}/v1/realtime?business_id=tenant-a`, key === null ? {} : { key: key ?? ADMIN_KEY });
      if (want !== 101) return expect(connect).rejects.toThrow(`HTTP ${want}`);
      const c = await connect;
      await c.waitFor('session.created');
      c.close();
      await c.closed;
    });
  }

  it('lists only its own business for a business key, everything for the admin, nothing for a client secret', async () => {
    const ids = async (who: Who) => ((await (await svc.api('/v1/businesses', { key: keyOf(who) })).json()) as { data: { id: string }[] }).data.map((b) => b.id);
    expect(await ids('own_key')).toEqual(['tenant-a']);
    expect(await ids('other_key')).toEqual(['tenant-b']);
    expect(await ids('admin')).toEqual(expect.arrayContaining(['tenant-a', 'tenant-b']));
    expect(await ids('own_call')).toEqual([]);
  });

  it("lists only its own business's calls for a business key, whatever business_id it asks for", async () => {
    const list = async (who: Who, q = '') => ((await (await svc.api(`/v1/calls${q}`, { key: keyOf(who) })).json()) as { data: { business_id: string; id: string }[] }).data;
    const mine = await list('own_key', '?business_id=tenant-b');
    expect(mine.length).toBeGreaterThan(0);
    expect(mine.every((c) => c.business_id === 'tenant-a')).toBe(true);
    expect((await list('other_key')).map((c) => c.id)).toEqual([callB]);
    expect((await svc.api('/v1/calls', { key: keyOf('own_call') })).status).toBe(403);
  });

  it("never shows a business key another business's audit entries", async () => {
    const res = await svc.api('/v1/businesses/tenant-a/audit', { key: keyOf('own_key') });
    const entries = ((await res.json()) as { data: { business_id: string; call_id: string | null }[] }).data;
    expect(entries.length).toBeGreaterThan(0);
    expect(entries.every((e) => e.business_id === 'tenant-a' && e.call_id !== callB)).toBe(true);
  });

  it("lets a call's client secret hang up its own call and nothing else", async () => {
    expect((await svc.api(`/v1/calls/${callB}`, { method: 'DELETE', key: keyOf('own_call') })).status).toBe(403);
    const res = await svc.api(`/v1/calls/${callA}`, { method: 'DELETE', key: keyOf('own_call') });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { status: string }).status).toBe('ended');
  });
});
