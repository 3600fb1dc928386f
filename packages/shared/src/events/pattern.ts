/**
 * Type patterns for routing: `*` matches everything, `workspace.*` matches every type that
 * starts with `workspace.` (any depth), an exact type matches itself.
 */
export function compileTypePattern(pattern: string): (type: string) => boolean {
  if (pattern === '*') return () => true;
  if (pattern.endsWith('.*')) {
    const prefix = pattern.slice(0, -1);
    return (type) => type.startsWith(prefix);
  }
  return (type) => type === pattern;
}
