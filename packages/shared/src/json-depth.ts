/**
 * Deepest nesting accepted in a JSON body or an event's data: objects and arrays inside each
 * other. Far above any real payload, far below what `JSON.stringify` can handle before it
 * overflows the stack (a few thousand levels), which would otherwise turn an accepted request
 * or stream entry into a 500 or an entry that cannot be written to the DLQ.
 */
export const MAX_JSON_DEPTH = 64;

/** True when `value` nests objects/arrays deeper than `maxDepth` (iterative: no recursion). */
export function exceedsJsonDepth(value: unknown, maxDepth: number = MAX_JSON_DEPTH): boolean {
  if (value === null || typeof value !== 'object') return false;
  const stack: [object, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!;
    if (depth > maxDepth) return true;
    const children = Array.isArray(node) ? node : Object.values(node);
    for (const child of children) if (child !== null && typeof child === 'object') stack.push([child as object, depth + 1]);
  }
  return false;
}
