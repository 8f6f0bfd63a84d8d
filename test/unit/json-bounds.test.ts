import { describe, expect, it } from 'vitest';
import { jsonBoundsProblem } from '../../src/core/json-bounds';

describe('JSON bounds', () => {
  const b = { maxDepth: 3, maxBytes: 50 };
  it('accepts values within depth and size', () => {
    expect(jsonBoundsProblem({ a: { b: [1, 2] } }, b)).toBeNull();
  });
  it('names the depth bound, without recursing on a 100,000-deep value', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(jsonBoundsProblem({ a: { b: { c: 1 } } }, b)).toBeNull();
    expect(jsonBoundsProblem({ a: { b: { c: {} } } }, b)).toContain('deeper than 3');
    expect(jsonBoundsProblem(deep, b)).toContain('deeper than 3');
  });
  it('names the size bound', () => {
    expect(jsonBoundsProblem({ s: 'x'.repeat(100) }, b)).toContain('at most 50');
  });
});
