/**
 * The part of autocannon 8's programmatic API the benchmarks use. autocannon ships no types, and
 * declaring only what is called keeps the benchmarks honest about what they depend on.
 */
declare module 'autocannon' {
  /** Options of one autocannon run. */
  export interface AutocannonOptions {
    url: string;
    method?: string;
    headers?: Record<string, string>;
    body?: string | Buffer;
    connections?: number;
    pipelining?: number;
    /** Seconds. */
    duration?: number;
    /** Stop after this many requests instead of after `duration`. */
    amount?: number;
    /** Requests per second over all connections together. */
    overallRate?: number;
    /** Record response times as measured, without autocannon's coordinated-omission correction. */
    ignoreCoordinatedOmission?: boolean;
    /** Replace `[<id>]` in each request with a fresh unique id. */
    idReplacement?: boolean;
    /** Seconds before a request counts as timed out. */
    timeout?: number;
    expectBody?: string;
  }

  /** A distribution autocannon reports (latency in ms, requests and throughput per second). */
  export interface Histogram {
    average: number;
    mean: number;
    stddev: number;
    min: number;
    max: number;
    total: number;
    p0_001: number;
    p1: number;
    p2_5: number;
    p10: number;
    p25: number;
    p50: number;
    p75: number;
    p90: number;
    p97_5: number;
    p99: number;
    p99_9: number;
    p99_99: number;
    p99_999: number;
    sent?: number;
    /** How many values were recorded (latency: completed 2xx requests). */
    totalCount?: number;
  }

  /** What a finished run reports. */
  export interface AutocannonResult {
    latency: Histogram;
    requests: Histogram;
    throughput: Histogram;
    errors: number;
    timeouts: number;
    non2xx: number;
    duration: number;
    start: Date;
    finish: Date;
    statusCodeStats: Record<string, { count: number }>;
    '2xx': number;
    '4xx': number;
    '5xx': number;
  }

  /** Runs a load test and resolves with its result. */
  function autocannon(options: AutocannonOptions): Promise<AutocannonResult>;
  export default autocannon;
}
