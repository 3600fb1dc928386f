/** Types of `targets.mjs` (plain JavaScript: Stryker and vitest load it without a compiler). */
export interface MutationTarget {
  name: string;
  mutate: string[];
  include: string[];
  exclude: string[];
  /** Report folder: `reports/mutation/<target>`, or `.../files/<names>` for a file selection. */
  reports: string;
}
export declare const MUTATION_TARGETS: Record<string, { mutate: string[]; include: string[]; exclude: string[] }>;
export declare function mutationTarget(name?: string, files?: string): MutationTarget;
