/** Latency samples and their percentiles, as the benchmarks' client processes report them. */

export interface Percentiles {
  count: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

/**
 * Growable Float64 sample buffer: millions of samples without millions of objects.
 *
 * @example
 * ```ts
 * const samples = new Samples();
 * samples.push(1.5);
 * samples.percentiles(); // { count: 1, p50: 1.5, p95: 1.5, p99: 1.5, max: 1.5 }
 * ```
 */
export class Samples {
  private data = new Float64Array(1 << 16);
  private length = 0;

  push(value: number): void {
    if (this.length === this.data.length) {
      const bigger = new Float64Array(this.data.length * 2);
      bigger.set(this.data);
      this.data = bigger;
    }
    this.data[this.length++] = value;
  }

  get count(): number {
    return this.length;
  }

  /** NaN for every percentile when there are no samples. */
  percentiles(): Percentiles {
    const sorted = this.data.slice(0, this.length).sort();
    const at = (q: number): number =>
      sorted.length === 0 ? Number.NaN : (sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number);
    return { count: sorted.length, p50: at(0.5), p95: at(0.95), p99: at(0.99), max: at(1) };
  }

  clear(): void {
    this.length = 0;
  }
}
