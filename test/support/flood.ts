// Unauthenticated floods against a web process, as an attacker without any credentials would
// send them: bounded in count and time, over real sockets from many loopback addresses.
// test/hardening/flood.test.ts asserts on what it returns; bench/flood.ts records it.
import { createHmac, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { parse } from 'yaml';
import { ROOT } from './process.js';

/** What the chart deploys the web role with: its V8 flags and its memory limit. */
export interface ChartWebLimits {
  nodeOptions: string;
  memoryLimitBytes: number;
}

const UNITS: Record<string, number> = { '': 1, Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, k: 1e3, M: 1e6, G: 1e9 };

/** The chart's `web.nodeOptions` and `web.resources.limits.memory`, read from its values.yaml. */
export function chartWebLimits(): ChartWebLimits {
  const values = parse(readFileSync(`${ROOT}charts/landfall/values.yaml`, 'utf8')) as {
    web: { nodeOptions: string; resources: { limits: { memory: string } } };
  };
  const match = /^(\d+)(Ki|Mi|Gi|k|M|G)?$/.exec(values.web.resources.limits.memory);
  if (!match) throw new Error(`cannot read web.resources.limits.memory "${values.web.resources.limits.memory}"`);
  return { nodeOptions: values.web.nodeOptions, memoryLimitBytes: Number(match[1]) * (UNITS[match[2] ?? ''] as number) };
}

/** The kernel's peak RSS of a process (VmHWM), which no sampling interval can miss, and its RSS now. */
export async function rssOf(pid: number): Promise<{ peak: number; now: number }> {
  const text = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? 0) * 1024;
  return { peak: kb('VmHWM'), now: kb('VmRSS') };
}

/** How one connection of the flood ended. */
export interface Attempt {
  /** The status the server answered, if it answered before the connection closed. */
  status?: number;
  retryAfter?: string;
  /** Body bytes the client managed to hand to the socket before it closed. */
  sent: number;
  /** From connect to close. */
  ms: number;
}

/** One connection: a head, then a body all at once or trickled, from a chosen loopback address. */
export interface AttemptOptions {
  port: number;
  localAddress: string;
  head: string;
  body?: Buffer;
  /** Send the body (or, with no body, more header lines) this many bytes at a time, this often. */
  trickle?: { bytes: number; everyMs: number };
}

/**
 * Opens a connection and plays one request; resolves when the server closes it (every request
 * says `Connection: close`), with what the server answered. Never rejects: a reset is an answer.
 */
export function attempt(options: AttemptOptions): Promise<Attempt> {
  return new Promise((resolve) => {
    const started = Date.now();
    const socket = connect({ port: options.port, host: '127.0.0.1', localAddress: options.localAddress });
    const received: Buffer[] = [];
    let sent = 0;
    let timer: NodeJS.Timeout | undefined;
    socket.on('data', (chunk: Buffer) => received.push(chunk));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearInterval(timer);
      const text = Buffer.concat(received).toString('latin1');
      const status = /^HTTP\/1\.1 (\d{3})/.exec(text)?.[1];
      const retryAfter = /\r\nretry-after: *(\S+)/i.exec(text)?.[1];
      resolve({ ...(status ? { status: Number(status) } : {}), ...(retryAfter ? { retryAfter } : {}), sent, ms: Date.now() - started });
    });
    socket.on('connect', () => {
      if (options.head) socket.write(options.head);
      const body = options.body;
      if (!options.trickle) {
        if (body) socket.write(body, (err) => (sent = err ? sent : body.length));
        return;
      }
      const { bytes, everyMs } = options.trickle;
      let offset = 0;
      timer = setInterval(() => {
        if (socket.destroyed) return clearInterval(timer);
        if (!body) {
          // Slow headers: one more header line now and then, never the blank line that ends them.
          socket.write(`x-slow-${offset++}: ${'a'.repeat(Math.max(1, bytes - 12))}\r\n`);
          return undefined;
        }
        const piece = body.subarray(offset, offset + bytes);
        offset += piece.length;
        if (piece.length > 0) socket.write(piece, (err) => (sent += err ? 0 : piece.length));
        return undefined;
      }, everyMs);
    });
  });
}

/** A request head; every flood request asks the server to close the connection after answering. */
export function requestHead(method: string, path: string, headers: Record<string, string | number>): string {
  return [`${method} ${path} HTTP/1.1`, 'Host: 127.0.0.1', 'Connection: close', ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`), '', ''].join('\r\n');
}

/** A body in chunked transfer encoding, in chunks of `size` bytes. */
export function chunked(body: Buffer, size = 64 * 1024): Buffer {
  const parts: Buffer[] = [];
  for (let i = 0; i < body.length; i += size) {
    const piece = body.subarray(i, i + size);
    parts.push(Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from('\r\n'));
  }
  parts.push(Buffer.from('0\r\n\r\n'));
  return Buffer.concat(parts);
}

/** The flood's shape; every count and duration is bounded. */
export interface FloodPlan {
  port: number;
  /** The server's `maxBodyBytes`: the attacker sends bodies of exactly that size. */
  maxBodyBytes: number;
  /** The GitHub webhook secret and a repository/branch an app tracks, for the signed deliveries. */
  secret: string;
  repo: string;
  branch: string;
  /** Maximum-size bodies with wrong signatures to /hooks/github: this many at once, this many waves, each from its own address. */
  bigBodies: { concurrent: number; waves: number };
  /** Maximum-size bodies to routes other than /hooks (a 404, the manual-sync API), half chunked. */
  nonHookBodies: number;
  /** Maximum-size bodies to /hooks/<a forge name that is none>. */
  unknownForge: number;
  /** Connections that trickle a body of an ordinary size (admitted, so only the request timeout ends them). */
  slowBodies: number;
  /** Connections from one address that each trickle a 1 MiB body: one client trying to spend everyone's budget. */
  slowBodiesOneSource: number;
  /** Connections that trickle their headers. */
  slowHeaders: number;
  /** Connections that send nothing at all. */
  silent: number;
  /** Signed deliveries sent one every `signedEveryMs` while the flood runs (from a forge's address of its own), at most this many. */
  signedDeliveries: number;
  signedEveryMs: number;
}

/** What the flood saw, by kind of request. */
export interface FloodResult {
  statuses: Record<string, Record<string, number>>;
  /** Signed deliveries answered 202. */
  accepted: number;
  signed: number;
  /** Answers to signed deliveries, by status. */
  signedStatuses: Record<string, number>;
  /** 503 answers without a Retry-After. */
  busyWithoutRetryAfter: number;
  /** How long the slow and silent connections stayed open, at most. */
  slowBodyMaxMs: number;
  slowHeaderMaxMs: number;
  silentMaxMs: number;
  ms: number;
}

function tally(into: Record<string, number>, attempt: Attempt): void {
  const key = String(attempt.status ?? 'closed');
  into[key] = (into[key] ?? 0) + 1;
}

/**
 * Runs every kind of unauthenticated flood at once against the web process on `plan.port`,
 * while a forge sends signed deliveries one after another. Attackers use addresses from
 * 127.0.1.0/24 (each address is its own source for the rate limiter, as a botnet would be);
 * the forge sends from 127.0.0.3.
 */
export async function runFlood(plan: FloodPlan): Promise<FloodResult> {
  const started = Date.now();
  const big = Buffer.alloc(plan.maxBodyBytes, 0x61);
  const bigChunked = chunked(big);
  let address = 0;
  const attacker = () => `127.0.1.${(address++ % 250) + 2}`;
  const statuses: Record<string, Record<string, number>> = {};
  const record = (kind: string) => (a: Attempt) => {
    tally((statuses[kind] ??= {}), a);
    return a;
  };
  const wrongSignature = (length: number | 'chunked') =>
    requestHead('POST', '/hooks/github', {
      'content-type': 'application/json',
      'x-github-event': 'push',
      'x-github-delivery': randomUUID(),
      'x-hub-signature-256': `sha256=${'0'.repeat(64)}`,
      ...(length === 'chunked' ? { 'transfer-encoding': 'chunked' } : { 'content-length': length }),
    });

  let floodDone = false;
  const bigWaves = (async () => {
    const all: Attempt[] = [];
    for (let wave = 0; wave < plan.bigBodies.waves; wave++) {
      const waveAttempts = Array.from({ length: plan.bigBodies.concurrent }, (_, i) =>
        // One in four without a Content-Length: counted while it streams.
        i % 4 === 3
          ? attempt({ port: plan.port, localAddress: attacker(), head: wrongSignature('chunked'), body: bigChunked }).then(
              record('big body, chunked, wrong signature'),
            )
          : attempt({ port: plan.port, localAddress: attacker(), head: wrongSignature(big.length), body: big }).then(record('big body, wrong signature')),
      );
      all.push(...(await Promise.all(waveAttempts)));
    }
    return all;
  })();
  const nonHook = Promise.all(
    Array.from({ length: plan.nonHookBodies }, (_, i) => {
      const path = i % 2 === 0 ? '/nope' : '/api/apps/web/sync';
      const useChunked = i % 4 >= 2;
      const head = requestHead('POST', path, {
        'content-type': 'application/json',
        authorization: 'Bearer not-a-token-at-all',
        ...(useChunked ? { 'transfer-encoding': 'chunked' } : { 'content-length': big.length }),
      });
      return attempt({ port: plan.port, localAddress: attacker(), head, body: useChunked ? bigChunked : big }).then(record('big body to another route'));
    }),
  );
  const unknown = Promise.all(
    Array.from({ length: plan.unknownForge }, () =>
      attempt({
        port: plan.port,
        localAddress: attacker(),
        head: requestHead('POST', `/hooks/evil-${randomUUID()}`, { 'content-type': 'application/json', 'content-length': big.length }),
        body: big,
      }).then(record('unknown forge')),
    ),
  );
  const ordinary = big.subarray(0, 256 * 1024);
  const slowBodies = Promise.all(
    Array.from({ length: plan.slowBodies }, () =>
      attempt({
        port: plan.port,
        localAddress: attacker(),
        head: wrongSignature(ordinary.length),
        body: ordinary,
        trickle: { bytes: 1024, everyMs: 200 },
      }).then(record('slow body')),
    ),
  );
  const oneMiB = big.subarray(0, 1024 * 1024);
  const slowOneSource = Promise.all(
    Array.from({ length: plan.slowBodiesOneSource }, () =>
      attempt({ port: plan.port, localAddress: '127.0.0.9', head: wrongSignature(oneMiB.length), body: oneMiB, trickle: { bytes: 1024, everyMs: 200 } }).then(
        record('slow body, one source'),
      ),
    ),
  );
  const silent = Promise.all(
    Array.from({ length: plan.silent }, () => attempt({ port: plan.port, localAddress: attacker(), head: '' }).then(record('silent'))),
  );
  const slowHeaders = Promise.all(
    Array.from({ length: plan.slowHeaders }, () =>
      attempt({
        port: plan.port,
        localAddress: attacker(),
        head: 'POST /hooks/github HTTP/1.1\r\nHost: 127.0.0.1\r\n',
        trickle: { bytes: 32, everyMs: 500 },
      }).then(record('slow headers')),
    ),
  );
  // The forge: signed pushes one after another for as long as the flood runs (bounded by the count).
  const signedStatuses: Record<string, number> = {};
  const forge = (async () => {
    let sent = 0;
    while (sent < plan.signedDeliveries && !(floodDone && sent > 0)) {
      const body = Buffer.from(
        JSON.stringify({
          ref: `refs/heads/${plan.branch}`,
          before: '0'.repeat(40),
          after: (sent + 1).toString(16).padStart(40, 'c'),
          repository: { full_name: plan.repo },
        }),
      );
      const head = requestHead('POST', '/hooks/github', {
        'content-type': 'application/json',
        'x-github-event': 'push',
        'x-github-delivery': randomUUID(),
        'x-hub-signature-256': `sha256=${createHmac('sha256', plan.secret).update(body).digest('hex')}`,
        'content-length': body.length,
      });
      const due = started + (sent + 1) * plan.signedEveryMs;
      tally(signedStatuses, await attempt({ port: plan.port, localAddress: '127.0.0.3', head, body }));
      sent++;
      // Spread over the flood rather than all at its start.
      if (Date.now() < due) await new Promise((resolve) => setTimeout(resolve, due - Date.now()));
    }
    return sent;
  })();
  const [bigAttempts, others] = await Promise.all([bigWaves, Promise.all([nonHook, unknown, slowBodies, slowHeaders, silent, slowOneSource])]);
  floodDone = true;
  const signed = await forge;
  const [nonHookAttempts, unknownAttempts, slowBodyAttempts, slowHeaderAttempts, silentAttempts, slowOneSourceAttempts] = others;
  const every = [
    ...bigAttempts,
    ...nonHookAttempts,
    ...unknownAttempts,
    ...slowBodyAttempts,
    ...slowHeaderAttempts,
    ...silentAttempts,
    ...slowOneSourceAttempts,
  ];
  return {
    statuses,
    accepted: signedStatuses['202'] ?? 0,
    signed,
    signedStatuses,
    busyWithoutRetryAfter: every.filter((a) => a.status === 503 && !a.retryAfter).length,
    slowBodyMaxMs: Math.max(0, ...[...slowBodyAttempts, ...slowOneSourceAttempts].map((a) => a.ms)),
    slowHeaderMaxMs: Math.max(0, ...slowHeaderAttempts.map((a) => a.ms)),
    silentMaxMs: Math.max(0, ...silentAttempts.map((a) => a.ms)),
    ms: Date.now() - started,
  };
}
