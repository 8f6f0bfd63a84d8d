/**
 * Bounds for free-form JSON a client stores (customer `data`): nesting depth and serialized size.
 * Checked iteratively, so a 5,000-deep value is a clear 400, not a stack overflow or a 500.
 */
export interface JsonBounds {
  maxDepth: number;
  maxBytes: number;
}

export const CUSTOMER_DATA_BOUNDS: JsonBounds = { maxDepth: 8, maxBytes: 16 * 1024 };

/** Null when within bounds, else a message naming the bound. */
export function jsonBoundsProblem(value: unknown, b: JsonBounds): string | null {
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length) {
    const [v, depth] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    if (depth > b.maxDepth) return `nested deeper than ${b.maxDepth} levels`;
    for (const child of Object.values(v as Record<string, unknown>)) stack.push([child, depth + 1]);
  }
  const bytes = Buffer.byteLength(JSON.stringify(value));
  if (bytes > b.maxBytes) return `${bytes} bytes of JSON; at most ${b.maxBytes}`;
  return null;
}
