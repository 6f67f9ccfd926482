// The HTTP error registry: every code has a status and a message template, and the helpers use them.
import t from 'tap';
import Fastify from 'fastify';
import { errorMessage, errorStatus, HTTP_ERRORS, HttpError, sendError } from '../../src/http/errors.js';

t.test('every code has an error status and a message', async (t) => {
  for (const [code, spec] of Object.entries(HTTP_ERRORS)) {
    t.ok(spec.status >= 400 && spec.status < 600, `${code}: ${spec.status}`);
    t.ok(spec.message.length > 0, `${code} has a message`);
  }
});

t.test('templates are filled in; without arguments the template stands', async (t) => {
  t.equal(errorMessage('not-found', 'web'), 'no app named "web"');
  t.equal(errorMessage('rate-limited', 'too many wrong API tokens from this source', 30), 'too many wrong API tokens from this source; try again in 30s');
  t.equal(errorMessage('internal'), 'internal error; see the server log');
  t.equal(errorStatus('busy'), 503);
});

t.test('HttpError carries the code, its status and the template by default', async (t) => {
  const err = new HttpError('read-only');
  t.equal(err.statusCode, 405);
  t.equal(err.message, HTTP_ERRORS['read-only'].message);
  t.same(new HttpError('busy', 'later', { 'retry-after': '5' }).headers, { 'retry-after': '5' });
});

t.test('sendError answers {error, message} with the status and headers', async (t) => {
  const app = Fastify();
  app.get('/x', (_request, reply) => sendError(reply, 'unavailable', errorMessage('unavailable', 'sync'), { 'retry-after': '1' }));
  const res = await app.inject({ method: 'GET', url: '/x' });
  t.equal(res.statusCode, 503);
  t.equal(res.headers['retry-after'], '1');
  t.same(res.json(), { error: 'unavailable', message: 'the sync could not be queued; try again' });
  await app.close();
});
