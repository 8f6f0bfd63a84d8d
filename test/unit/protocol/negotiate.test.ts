import { describe, expect, it } from 'vitest';
import { newId } from '../../../src/core/protocol/ids';
import {
  negotiateDialect,
  parseSubprotocolHeader,
  selectSubprotocol,
  tokenFromSubprotocols,
} from '../../../src/core/protocol/negotiate';

const none = { headers: {}, protocols: [], query: {} };

describe('negotiateDialect', () => {
  it('speaks GA by default', () => {
    expect(negotiateDialect(none)).toBe('ga');
  });

  it('speaks beta when the OpenAI-Beta header asks for realtime=v1', () => {
    expect(negotiateDialect({ ...none, headers: { 'openai-beta': 'realtime=v1' } })).toBe('beta');
    expect(negotiateDialect({ ...none, headers: { 'OpenAI-Beta': 'assistants=v2, realtime=v1' } })).toBe('beta');
  });

  it('speaks beta when the openai-beta.realtime-v1 subprotocol is offered', () => {
    expect(negotiateDialect({ ...none, protocols: ['realtime', 'openai-beta.realtime-v1'] })).toBe('beta');
  });

  it('speaks beta when the query says dialect=beta', () => {
    expect(negotiateDialect({ ...none, query: { dialect: 'beta' } })).toBe('beta');
  });

  it('forces GA with dialect=ga even when the beta header is sent', () => {
    expect(negotiateDialect({ headers: { 'openai-beta': 'realtime=v1' }, protocols: ['openai-beta.realtime-v1'], query: { dialect: 'ga' } })).toBe('ga');
  });

  it('ignores other OpenAI-Beta values', () => {
    expect(negotiateDialect({ ...none, headers: { 'openai-beta': 'assistants=v2' } })).toBe('ga');
  });
});

describe('subprotocols', () => {
  const offered = ['realtime', 'openai-insecure-api-key.ek_abc123', 'openai-beta.realtime-v1'];

  it('extracts the token from openai-insecure-api-key.<token>', () => {
    expect(tokenFromSubprotocols(offered)).toBe('ek_abc123');
  });

  it('finds no token when none is offered', () => {
    expect(tokenFromSubprotocols(['realtime'])).toBeUndefined();
    expect(tokenFromSubprotocols(['openai-insecure-api-key.'])).toBeUndefined();
  });

  it('selects realtime when it is offered', () => {
    expect(selectSubprotocol(offered)).toBe('realtime');
  });

  it('never selects the key entry', () => {
    expect(selectSubprotocol(['openai-insecure-api-key.secret'])).toBe(false);
    expect(selectSubprotocol(['openai-insecure-api-key.secret', 'openai-beta.realtime-v1'])).toBe('openai-beta.realtime-v1');
  });

  it('splits a raw Sec-WebSocket-Protocol header', () => {
    expect(parseSubprotocolHeader('realtime, openai-insecure-api-key.k ,x')).toEqual(['realtime', 'openai-insecure-api-key.k', 'x']);
  });
});

describe('newId', () => {
  it('makes prefixed, URL-safe ids of OpenAI length', () => {
    const id = newId('item');
    expect(id).toMatch(/^item_[A-Za-z0-9]{22}$/);
  });

  it('does not repeat itself', () => {
    const ids = new Set(Array.from({ length: 10_000 }, () => newId('event')));
    expect(ids.size).toBe(10_000);
  });
});
