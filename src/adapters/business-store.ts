/** Businesses, their API keys (hashed) and customer directories, in Redis. */
import { Business, type Customer } from '../contracts/business';
import { hashSecret, randomToken } from '../core/secrets';
import { getMany, masters, writeAcrossSlots, type Keys, type Redis } from './redis';

export interface ApiKeyRecord {
  business_id: string;
  key_id: string;
  created_at: number;
}

export class BusinessStore {
  constructor(private readonly redis: Redis, private readonly keys: Keys) {}

  async get(id: string): Promise<Business | null> {
    const raw = await this.redis.get(this.keys.business(id));
    return raw ? Business.parse(JSON.parse(raw)) : null;
  }

  async put(b: Business): Promise<void> {
    await writeAcrossSlots(this.redis, (m) => m.set(this.keys.business(b.id), JSON.stringify(b)).sadd(this.keys.businesses(), b.id));
  }

  async list(): Promise<Business[]> {
    const ids = (await this.redis.smembers(this.keys.businesses())).sort();
    if (ids.length === 0) return [];
    const raws = await getMany(this.redis, ids.map((id) => this.keys.business(id)));
    return raws.flatMap((r) => (r ? [Business.parse(JSON.parse(r))] : []));
  }

  /**
   * Deletes the business and everything of it: API keys, customers, tickets, audit log, cached
   * audio, and its calls with their transcripts, logs and state. A re-created id starts empty.
   * Returns the calls that were active (the caller hangs them up) and whether it existed.
   */
  async delete(id: string): Promise<{ deleted: boolean; activeCalls: string[] }> {
    const [keyHashes, callIds, activeCalls] = await Promise.all([
      this.redis.hvals(this.keys.businessKeys(id)),
      this.redis.zrange(this.keys.businessCalls(id), 0, -1),
      this.redis.zrange(this.keys.activeCalls(id), 0, -1),
    ]);
    // Fence first: without the record, keys and call records nothing of it resolves any more.
    // The record goes last, so a business half deleted still refuses its revoked keys.
    const res = await writeAcrossSlots(this.redis, (m) => {
      for (const h of keyHashes) m.del(this.keys.apiKey(h));
      for (const c of callIds) m.del(this.keys.call(c));
      if (callIds.length) m.zrem(this.keys.calls(), ...callIds);
      m.del(this.keys.businessKeys(id)).srem(this.keys.businesses(), id).del(this.keys.business(id));
    });
    const deleted = Number(res.at(-1)?.[1] ?? 0) > 0;
    // Then sweep the rest: everything under the business's prefix and each call's.
    await this.deleteMatching(`${this.keys.business(id)}:*`);
    const calls = new Set(callIds.map((c) => this.keys.call(c)));
    if (calls.size) await this.deleteMatching(`${this.keys.call('*')}*`, (k) => calls.has(k.slice(0, k.indexOf('}') + 1)));
    return { deleted, activeCalls };
  }

  /** SCANs every master (one node, or each master of a cluster) and deletes the matching keys. */
  private async deleteMatching(pattern: string, keep: (key: string) => boolean = () => true): Promise<void> {
    for (const node of masters(this.redis)) {
      let cursor = '0';
      do {
        const [next, found] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
        cursor = next;
        const doomed = found.filter(keep);
        if (doomed.length) await Promise.all(doomed.map((k) => this.redis.del(k)));
      } while (cursor !== '0');
    }
  }

  /** Creates a business API key; the plain key is returned once and never stored. */
  async createKey(businessId: string): Promise<{ id: string; key: string }> {
    const id = `bk_${randomToken(9)}`;
    const key = `vak_${randomToken(24)}`;
    const hash = hashSecret(key);
    const rec: ApiKeyRecord = { business_id: businessId, key_id: id, created_at: Date.now() };
    // Listed before it works: a key that resolves is always one the business can see and revoke.
    await writeAcrossSlots(this.redis, (m) => m.hset(this.keys.businessKeys(businessId), id, hash).set(this.keys.apiKey(hash), JSON.stringify(rec)));
    return { id, key };
  }

  async listKeys(businessId: string): Promise<string[]> {
    return (await this.redis.hkeys(this.keys.businessKeys(businessId))).sort();
  }

  async revokeKey(businessId: string, keyId: string): Promise<boolean> {
    const hash = await this.redis.hget(this.keys.businessKeys(businessId), keyId);
    if (!hash) return false;
    await writeAcrossSlots(this.redis, (m) => m.del(this.keys.apiKey(hash)).hdel(this.keys.businessKeys(businessId), keyId));
    return true;
  }

  async resolveKey(key: string): Promise<ApiKeyRecord | null> {
    const raw = await this.redis.get(this.keys.apiKey(hashSecret(key)));
    return raw ? (JSON.parse(raw) as ApiKeyRecord) : null;
  }

  async putCustomer(businessId: string, c: Customer): Promise<void> {
    await this.redis.hset(this.keys.customers(businessId), c.phone_number, JSON.stringify(c));
  }

  async getCustomer(businessId: string, e164: string): Promise<Customer | null> {
    const raw = await this.redis.hget(this.keys.customers(businessId), e164);
    return raw ? (JSON.parse(raw) as Customer) : null;
  }
}
