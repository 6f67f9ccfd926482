import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { clipName } from '../../clip.js';
import { FORGE_IDS, isForgeId } from '../../config/schema.js';
import type { DeliveryAnswer, DeliveryHandler, DeliveryHead, DeliveryRefusal } from '../../intake/handle.js';
import type { Metrics } from '../../metrics/families.js';
import type { BodyBudget, BodyLease } from '../body-budget.js';
import { CLOSE, errorMessage, errorStatus, HttpError, type HttpErrorCode } from '../errors.js';
import type { RateLimiter } from '../rate-limit.js';

/** Options of the webhook routes plugin. */
export interface HookRoutesOptions {
  handleDelivery: DeliveryHandler;
  /** What the headers alone decide (intake's checkDeliveryHead): asked before the body is read. */
  checkHead: (head: DeliveryHead) => DeliveryRefusal | undefined;
  maxBodyBytes: number;
  /** Webhook body bytes in flight, process-wide. */
  budget: BodyBudget;
  /** Seconds a client is told to wait when the budget is spent (bodies in flight are done by then). */
  busyRetryAfterSeconds: number;
  limiter?: RateLimiter;
  metrics?: Metrics;
}

/** What the admission hook learned about a request, for the parser and the handler. */
interface Admitted {
  /** The rate limiter's key: forge (or `*` for names that are none) and source address. */
  source: string;
  /** The forge label for logs and metrics; `unknown` for names that are no forge, so attackers cannot mint labels. */
  forge: string;
  lease?: BodyLease;
  /** Where a body of declared length is read to, taken from the budget at admission. */
  target?: Buffer;
  /** The handler is using the body: the lease waits for it even if the client is gone. */
  handling?: boolean;
  /** The response closed while the handler ran; the handler gives the lease back. */
  closed?: boolean;
}

/**
 * `POST /hooks/<forge>`. Everything the request line and headers decide is decided before a
 * byte of the body is read: the rate limit (unknown forge names count too), a known and
 * configured forge, a credential header sent once, a JSON content type, a declared length within
 * `server.maxBodyBytes`, and room in the process-wide budget of body bytes in flight. Refusals
 * close the connection, so the body they did not want is never read into memory. Encapsulated
 * on purpose: this raw-bytes body reader applies to these routes alone.
 */
// eslint-disable-next-line @typescript-eslint/require-await -- a Fastify plugin: Fastify awaits the promise an async plugin returns
export async function hookRoutes(app: FastifyInstance, options: HookRoutesOptions): Promise<void> {
  const { limiter, metrics, budget } = options;
  // Per request, not per module: the plugin's own map, gone with the request objects.
  const admitted = new WeakMap<IncomingMessage, Admitted>();

  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (request, payload, done) => {
    const state = admitted.get(request.raw);
    if (!state?.lease) return done(new HttpError('internal', 'body arrived without admission'), undefined);
    readBody(payload, { target: state.target, max: options.maxBodyBytes, lease: state.lease, retryAfterSeconds: options.busyRetryAfterSeconds }).then(
      (body) => done(null, body),
      (err: Error) => done(err, undefined),
    );
    return undefined;
  });

  app.setErrorHandler((err: FastifyError, request, reply) => {
    const state = admitted.get(request.raw);
    const { code, message, headers } = describeError(err, options.maxBodyBytes);
    const status = errorStatus(code);
    if (status >= 500 && code !== 'busy') request.log.error({ err }, 'request failed');
    if (state && status >= 400 && status < 500 && status !== 429) limiter?.fail(state.source);
    metrics?.webhooks.inc({ forge: state?.forge ?? 'unknown', outcome: code });
    // The body may be only partly read: end the connection rather than read the rest.
    return reply
      .code(status)
      .headers({ ...headers, ...CLOSE })
      .send({ error: code, message });
  });

  /** Refuses before the body: counted, logged, and the connection closed behind the answer. */
  function refuse(
    request: FastifyRequest,
    reply: FastifyReply,
    state: Admitted,
    status: number,
    body: { error: string; message: string },
    headers: Record<string, string> = {},
  ): FastifyReply {
    if (status >= 400 && status < 500 && status !== 429) limiter?.fail(state.source);
    metrics?.webhooks.inc({ forge: state.forge, outcome: body.error });
    if (status !== 429) request.log.info({ forge: state.forge, outcome: body.error, status }, 'webhook refused before its body');
    return reply
      .code(status)
      .headers({ ...headers, ...CLOSE })
      .send(body);
  }

  /** The admission hook; a callback one, since it runs for every delivery (see `decide`). */
  function admit(request: FastifyRequest<{ Params: { forge: string } }>, reply: FastifyReply, done: () => void): void {
    if (!decide(request, reply)) done();
  }

  /** Refuses what the headers decide; the reply when it did, undefined to go on. */
  function decide(request: FastifyRequest<{ Params: { forge: string } }>, reply: FastifyReply): FastifyReply | undefined {
    const name = request.params.forge;
    const known = isForgeId(name);
    const state: Admitted = { source: `${known ? name : '*'}|${request.ip}`, forge: known ? name : 'unknown' };
    admitted.set(request.raw, state);
    const decision = limiter?.take(state.source);
    if (decision && !decision.ok) return refuse(request, reply, state, 429, rateLimited(decision), { 'retry-after': String(decision.retryAfterSeconds) });
    if (!known) {
      return refuse(request, reply, state, errorStatus('forge-unknown'), {
        error: 'forge-unknown',
        message: errorMessage('forge-unknown', clipName(name), FORGE_IDS.join(', ')),
      });
    }
    const head = options.checkHead({ forge: name, headers: request.headers, headerNames: headerNames(request.raw) });
    if (head) return refuse(request, reply, state, head.status, head.body);
    const length = declaredLength(request.headers['content-length']);
    if (length !== undefined && length > options.maxBodyBytes) {
      return refuse(request, reply, state, errorStatus('payload-too-large'), { error: 'payload-too-large', message: tooLarge(options.maxBodyBytes) });
    }
    const lease = budget.lease(request.ip);
    // Given back however the request ends (answered, failed, or its socket gone), but never while
    // the handler may still read the body: its memory is reused for the next one.
    reply.raw.once('close', () => {
      if (state.handling) state.closed = true;
      else lease.release();
    });
    state.lease = lease;
    if (length !== undefined && length > 0) {
      const target = lease.alloc(length);
      if (!target)
        return refuse(request, reply, state, errorStatus('busy'), busy(options.busyRetryAfterSeconds), {
          'retry-after': String(options.busyRetryAfterSeconds),
        });
      state.target = target;
    }
    return undefined;
  }

  app.post<{ Params: { forge: string } }>(
    '/hooks/:forge',
    {
      // The reader below enforces it; this keeps Fastify's own limit out of the way.
      bodyLimit: options.maxBodyBytes,
      onRequest: admit,
      schema: {
        params: { type: 'object', properties: { forge: { type: 'string' } }, required: ['forge'] },
      },
    },
    async (request, reply) => {
      const state = admitted.get(request.raw);
      const forge = request.params.forge;
      // The admission hook ran first: it admitted only known forges, and recorded them.
      if (!state || !isForgeId(forge)) return reply.code(500).send({ error: 'internal', message: errorMessage('internal') });
      // Other deliveries from this source may have failed while this body arrived.
      const decision = limiter?.check(state.source);
      if (decision && !decision.ok) return refuse(request, reply, state, 429, rateLimited(decision), { 'retry-after': String(decision.retryAfterSeconds) });
      const started = process.hrtime.bigint();
      const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
      state.handling = true;
      let answer: DeliveryAnswer;
      try {
        answer = await options.handleDelivery({ forge, headers: request.headers, body, headerNames: headerNames(request.raw) });
      } finally {
        state.handling = false;
        if (state.closed) state.lease?.release();
      }
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      if (answer.status >= 400 && answer.status < 500) limiter?.fail(state.source);
      metrics?.webhooks.inc({ forge, outcome: answer.outcome });
      metrics?.webhookSeconds.observe({ forge }, seconds);
      request.log.info({ forge, outcome: answer.outcome, status: answer.status, ms: seconds * 1000 }, 'webhook handled');
      return reply.code(answer.status).send(answer.body);
    },
  );
}

/**
 * Reads a webhook body, holding the budget for it. A body of declared length is read in place
 * into the buffer taken for it at admission (one copy of the body, never two). A chunked body
 * without one is counted as it streams: kept as its chunks while small, moved into a buffer of
 * the largest size once it outgrows that, and cut off at `max`.
 */
function readBody(stream: Readable, limits: { target: Buffer | undefined; max: number; lease: BodyLease; retryAfterSeconds: number }): Promise<Buffer> {
  const { max, lease, retryAfterSeconds } = limits;
  return new Promise((resolve, reject) => {
    // The buffer taken at admission for a body of declared length; `target` starts as it.
    const declared = limits.target;
    let target = declared;
    const chunks: Buffer[] = [];
    let received = 0;
    const stop = (err?: Error) => {
      stream.removeListener('data', onData);
      stream.removeListener('end', onEnd);
      stream.removeListener('error', onError);
      if (err) reject(err);
    };
    const busyError = () => new HttpError('busy', busy(retryAfterSeconds).message, { 'retry-after': String(retryAfterSeconds) });
    const onData = (chunk: Buffer) => {
      const offset = received;
      received += chunk.length;
      if (declared !== undefined) {
        // Node's parser never delivers more than the declared length; guard anyway.
        if (received > declared.length) return stop(new HttpError('bad-request', 'body is longer than its Content-Length'));
        chunk.copy(declared, offset);
        return undefined;
      }
      if (received > max) return stop(new HttpError('payload-too-large', tooLarge(max)));
      if (!target && lease.take(chunk.length)) {
        chunks.push(chunk);
        return undefined;
      }
      if (!target) {
        // Too large to keep as chunks: one buffer of the largest size a body may have.
        target = lease.alloc(max);
        if (!target) return stop(busyError());
        let at = 0;
        for (const kept of chunks) at += kept.copy(target, at);
        chunks.length = 0;
      }
      chunk.copy(target, offset);
      return undefined;
    };
    const onEnd = () => {
      stop();
      if (declared !== undefined && received !== declared.length)
        return reject(new HttpError('body-incomplete', errorMessage('body-incomplete', `ended after ${received} of ${declared.length} bytes`)));
      return resolve(target ? target.subarray(0, received) : Buffer.concat(chunks, received));
    };
    const onError = (err: Error) => stop(new HttpError('body-incomplete', errorMessage('body-incomplete', `could not be read: ${err.message}`)));
    stream.on('data', onData);
    stream.on('end', onEnd);
    stream.on('error', onError);
    stream.resume();
  });
}

/** A refusal's answer from whatever a parser or hook threw. */
function describeError(err: FastifyError, maxBodyBytes: number): { code: HttpErrorCode; message: string; headers: Record<string, string> } {
  if (err instanceof HttpError) return { code: err.code, message: err.message, headers: err.headers };
  const status = err.statusCode ?? 500;
  if (status === 413) return { code: 'payload-too-large', message: tooLarge(maxBodyBytes), headers: {} };
  if (status >= 500) return { code: 'internal', message: 'internal error; see the server log', headers: {} };
  return { code: 'bad-request', message: err.message, headers: {} };
}

function declaredLength(header: string | undefined): number | undefined {
  if (header === undefined) return undefined;
  const n = Number(header);
  return Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}

/** Header names as sent, repeats included (rawHeaders alternates names and values). */
function headerNames(raw: IncomingMessage): string[] {
  return raw.rawHeaders.filter((_, i) => i % 2 === 0);
}

function tooLarge(max: number): string {
  return errorMessage('payload-too-large', 'server.maxBodyBytes', max);
}

function busy(retryAfterSeconds: number): { error: HttpErrorCode; message: string } {
  return { error: 'busy', message: errorMessage('busy', retryAfterSeconds) };
}

function rateLimited(decision: { reason: string; retryAfterSeconds: number }): { error: HttpErrorCode; message: string } {
  return { error: 'rate-limited', message: errorMessage('rate-limited', decision.reason, decision.retryAfterSeconds) };
}
