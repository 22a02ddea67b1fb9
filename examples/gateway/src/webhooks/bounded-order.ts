/**
 * Ids in the order they were added, at most `limit` of them: adding past the limit evicts the
 * oldest. The dispatcher keeps one per settled state, so memory for finished deliveries stays
 * bounded while lookups, removal and eviction stay O(1) (a Set iterates in insertion order).
 *
 * @example
 * ```ts
 * const recent = new BoundedOrder(2);
 * recent.add('a'); // []
 * recent.add('b'); // []
 * recent.add('c'); // ['a']: the caller forgets 'a'
 * [...recent]; // ['b', 'c']
 * ```
 */
export class BoundedOrder implements Iterable<string> {
  private readonly ids = new Set<string>();

  constructor(private readonly limit: number) {}

  get size(): number {
    return this.ids.size;
  }

  /** Adds `id` as the newest (moving it there if present) and returns the ids evicted, oldest first. */
  add(id: string): string[] {
    this.ids.delete(id);
    this.ids.add(id);
    const evicted: string[] = [];
    for (const oldest of this.ids) {
      if (this.ids.size <= this.limit) break;
      this.ids.delete(oldest);
      evicted.push(oldest);
    }
    return evicted;
  }

  /** Removes `id` without evicting anything (it left the state this order tracks). */
  delete(id: string): void {
    this.ids.delete(id);
  }

  /** Oldest first. */
  [Symbol.iterator](): Iterator<string> {
    return this.ids.values();
  }
}
