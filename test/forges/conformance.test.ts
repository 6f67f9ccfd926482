// Holds every adapter in the forge registry to the same cases, through a real socket and real Redis.
import t from 'tap';
import { FORGE_IDS, type ForgeId } from '../../src/config/schema.js';
import { FORGES } from '../../src/forges/registry.js';
import { redisForTest } from '../support/redis.js';
import { queuesForTest } from '../support/queues.js';
import { gitlabSigningToken, KITS } from '../support/sign.js';
import { startWeb } from '../support/web.js';

const REPOS: Record<ForgeId, string> = {
  github: 'acme/web',
  gitlab: 'acme/platform/web',
  bitbucket: 'acme/web',
  'bitbucket-server': 'ACME/web',
  gitea: 'acme/web',
};
const FORGE_URLS: Partial<Record<ForgeId, string>> = { 'bitbucket-server': 'https://bitbucket.example.com', gitea: 'https://gitea.example.com' };
const OLD = 'old-secret-0123456789';
const NEW = 'new-secret-9876543210';
const SHA = 'a'.repeat(40);
const ZERO = '0'.repeat(40);

t.test('every adapter in the registry has a test kit and a route', async (t) => {
  t.same([...FORGES.keys()].sort(), [...FORGE_IDS].sort());
  for (const id of FORGES.keys()) t.ok(KITS[id], `kit for ${id}`);
});

t.test('conformance', async (t) => {
  const { url, prefix, redis } = await redisForTest(t, 'conf');
  const forges = FORGE_IDS.map(
    (id) =>
      `  ${id}:\n    webhookSecret: [${NEW}, ${OLD}]\n${FORGE_URLS[id] ? `    url: ${FORGE_URLS[id]}\n` : ''}` +
      (id === 'gitlab' ? `    signingToken: ["${gitlabSigningToken(NEW)}", "${gitlabSigningToken(OLD)}"]\n` : ''),
  ).join('');
  const apps = FORGE_IDS.map((id) => `  - { name: ${id}-app, forge: ${id}, repo: ${REPOS[id]}, branch: main, namespace: web }\n`).join('');
  const web = await startWeb(t, `redis: { url: ${url}, prefix: ${prefix} }\nserver: { maxBodyBytes: 65536 }\nforges:\n${forges}apps:\n${apps}`);
  const queues = queuesForTest(t, redis, prefix);

  for (const [id] of FORGES) {
    const kit = KITS[id];
    const repo = REPOS[id];

    t.test(id, async (t) => {
      const body = JSON.stringify(kit.push(repo, 'main', SHA));
      const send = async (payload: string | Buffer, headers: Record<string, string>, contentType = 'application/json') =>
        web.post(`/hooks/${id}`, payload, { 'content-type': contentType, ...headers });
      const before = async () => queues.total();

      t.test('a signed push is queued as exactly one sync job', async (t) => {
        const deliveryId = `d-${id}-ok`;
        const res = await send(body, { ...kit.eventHeaders(kit.pushEvent, deliveryId), ...(await kit.sign(body, NEW)) });
        t.equal(res.status, 202, res.text);
        t.same(res.json, { accepted: [{ app: `${id}-app`, sha: SHA, jobId: `sync-${id}-app-0` }] });
        const job = await queues.sync.getJob(`sync-${id}-app-0`);
        t.ok(job, 'job is in Redis');
        const { receivedAt, ...data } = job!.data;
        t.type(receivedAt, 'number');
        t.same(data, { app: `${id}-app`, trigger: 'push', forge: id, repo, branch: 'main', sha: SHA, before: ZERO, deliveryId, generation: 0 });
        t.equal(job!.name, 'sync');
      });

      t.test('the old secret still works while it is listed (rotation)', async (t) => {
        const res = await send(body, { ...kit.eventHeaders(kit.pushEvent), ...(await kit.sign(body, OLD)) });
        t.equal(res.status, 202, res.text);
        // Coalesced into the same pending job.
        t.equal(res.json.accepted[0].jobId, `sync-${id}-app-0`);
      });

      t.test('the same delivery again is a duplicate and queues nothing', async (t) => {
        const n = await before();
        const res = await send(body, { ...kit.eventHeaders(kit.pushEvent, `d-${id}-ok`), ...(await kit.sign(body, NEW)) });
        t.equal(res.status, 200, res.text);
        t.equal(res.json.ignored, 'duplicate');
        t.equal(await before(), n);
      });

      const refused: [string, () => Promise<Record<string, string>>, string | Buffer][] = [
        ['a wrong secret', () => kit.sign(body, 'wrong-secret-000000'), body],
        ['no signature', async () => ({}), body],
        ['a signature of a different body', () => kit.sign(body.replace('main', 'mainx'), NEW), body],
        ['a truncated signature', async () => Object.fromEntries(Object.entries(await kit.sign(body, NEW)).map(([k, v]) => [k, v.slice(0, -2)])), body],
      ];
      for (const [what, headers, payload] of refused) {
        t.test(`${what} is refused with 401 and nothing queued`, async (t) => {
          const n = await before();
          const deliveryId = `d-${id}-${what.replace(/\W+/g, '-')}`;
          const res = await send(payload, { ...kit.eventHeaders(kit.pushEvent, deliveryId), ...(await headers()) });
          t.equal(res.status, 401, res.text);
          t.equal(res.json.error, 'signature-invalid');
          t.ok(res.json.message.length > 10, 'says what is wrong');
          t.equal(await before(), n, 'nothing queued');
          t.equal(await redis.exists(`${prefix}:delivery:${id}:${deliveryId}`), 0, 'delivery not recorded');
        });
      }

      t.test('a valid signature over malformed JSON is 400', async (t) => {
        const bad = '{"ref": "refs/heads/main",';
        const res = await send(bad, { ...kit.eventHeaders(kit.pushEvent), ...(await kit.sign(bad, NEW)) });
        t.equal(res.status, 400, res.text);
        t.equal(res.json.error, 'json-invalid');
      });

      t.test('a valid signature over a payload missing its fields is 400 naming the field', async (t) => {
        const bad = JSON.stringify({ hello: 'world' });
        const res = await send(bad, { ...kit.eventHeaders(kit.pushEvent), ...(await kit.sign(bad, NEW)) });
        t.equal(res.status, 400, res.text);
        t.equal(res.json.error, 'payload-invalid');
        t.match(res.json.message, /malformed at/);
      });

      t.test('a body over maxBodyBytes is 413', async (t) => {
        const big = Buffer.alloc(70_000, 32);
        const res = await send(big, { ...kit.eventHeaders(kit.pushEvent), ...(await kit.sign(big, NEW)) });
        t.equal(res.status, 413, res.text);
        t.equal(res.json.error, 'payload-too-large');
      });

      for (const type of ['text/plain', 'application/x-www-form-urlencoded']) {
        t.test(`content type ${type} is 415`, async (t) => {
          const res = await send(body, { ...kit.eventHeaders(kit.pushEvent), ...(await kit.sign(body, NEW)) }, type);
          t.equal(res.status, 415, res.text);
          t.match(res.json.message, /application\/json/);
        });
      }

      t.test('a push for a repository no app tracks is ignored', async (t) => {
        const other = JSON.stringify(kit.push(id === 'bitbucket-server' ? 'OTHER/repo' : 'other/repo', 'main', SHA));
        const res = await send(other, { ...kit.eventHeaders(kit.pushEvent), ...(await kit.sign(other, NEW)) });
        t.equal(res.status, 200, res.text);
        t.equal(res.json.ignored, 'unknown-repo');
      });

      t.test('a push to another branch is ignored', async (t) => {
        const other = JSON.stringify(kit.push(repo, 'feature/x', SHA));
        const res = await send(other, { ...kit.eventHeaders(kit.pushEvent), ...(await kit.sign(other, NEW)) });
        t.equal(res.status, 200, res.text);
        t.equal(res.json.ignored, 'untracked-branch');
      });

      t.test('an event Landfall does not act on is ignored', async (t) => {
        // No forge names an event "release" that Landfall reads.
        const res = await send(body, { ...kit.eventHeaders('release'), ...(await kit.sign(body, NEW)) });
        t.equal(res.status, 200, res.text);
        t.equal(res.json.ignored, 'unhandled-event');
        t.match(res.json.detail, /is not one Landfall acts on/);
      });

      t.test('a new comment on a pull request is read, and queues nothing yet', async (t) => {
        const n = await before();
        const comment = JSON.stringify(kit.comment(repo, 7, 'maintainer', `approve ${SHA}`));
        const res = await send(comment, { ...kit.eventHeaders(kit.commentEvent), ...(await kit.sign(comment, NEW)) });
        t.equal(res.status, 200, res.text);
        // The adapter knew the event (its own refusal says "not one Landfall acts on"); what a
        // comment asks of Landfall is decided after parsing.
        t.notMatch(res.json.detail, /not one Landfall acts on|not on a pull request|malformed/);
        t.equal(await before(), n, 'nothing queued');
      });

      t.test('a comment payload missing its fields is 400 naming the field', async (t) => {
        const bad = JSON.stringify({ hello: 'world' });
        const res = await send(bad, { ...kit.eventHeaders(kit.commentEvent), ...(await kit.sign(bad, NEW)) });
        t.equal(res.status, 400, res.text);
        t.equal(res.json.error, 'payload-invalid');
        t.match(res.json.message, /malformed at [a-z_]+/i);
      });

      t.test('a delivery without an event header is 400', async (t) => {
        const headers = kit.eventHeaders(kit.pushEvent);
        const eventHeader = Object.keys(headers).find((h) => /event/.test(h))!;
        delete headers[eventHeader];
        const res = await send(body, { ...headers, ...(await kit.sign(body, NEW)) });
        t.equal(res.status, 400, res.text);
        t.equal(res.json.error, 'event-missing');
      });
    });
  }
});

t.test('Redis unreachable and the spool unwritable: 503 for every forge, never 202', async (t) => {
  const forges = FORGE_IDS.map((id) => `  ${id}:\n    webhookSecret: ${NEW}\n${FORGE_URLS[id] ? `    url: ${FORGE_URLS[id]}\n` : ''}`).join('');
  const apps = FORGE_IDS.map((id) => `  - { name: ${id}-app, forge: ${id}, repo: ${REPOS[id]}, branch: main, namespace: web }\n`).join('');
  // Port 1 on loopback: nothing listens, connections are refused at once.
  const web = await startWeb(t, `redis: { url: "redis://127.0.0.1:1", prefix: down }\nforges:\n${forges}apps:\n${apps}`, {
    LANDFALL_SERVER__SPOOL_DIR: '/dev/null/not-a-directory',
  });
  // All at once: each waits out the producer's connect timeout, in parallel.
  await Promise.all(
    FORGE_IDS.map(async (id) => {
      const kit = KITS[id];
      const body = JSON.stringify(kit.push(REPOS[id], 'main', SHA));
      const started = Date.now();
      const res = await web.post(`/hooks/${id}`, body, {
        'content-type': 'application/json',
        ...kit.eventHeaders(kit.pushEvent),
        ...(await kit.sign(body, NEW)),
      });
      t.equal(res.status, 503, `${id}: ${res.text}`);
      t.equal(res.json.error, 'unavailable');
      t.ok(Date.now() - started < 5_000, `${id} failed within the forge's timeout`);
    }),
  );
  const ready = await fetch(`${web.url}/readyz`);
  t.equal(ready.status, 503);
});
