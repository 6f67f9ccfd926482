// The Redis codecs: what the intake and reporter write reads back, and anything else is a clear
// StoredDataError naming the key, never a crash or a silently wrong value.
import t from 'tap';
import { decodeHash, decodeStoredJson, StoredDataError } from '../../src/store/codec.js';
import { decodeEvent, encodeEvent, EVENT_FIELDS, type QueuedEvent } from '../../src/store/events.js';
import { syncRecordSchema, appStateSchema } from '../../src/model/records.js';
import { decodeCommentSlot, decodeStatusSlot } from '../../src/status/slots.js';

t.test('events: what encodeEvent writes, decodeEvent reads back', async (t) => {
  const events: QueuedEvent[] = [
    { kind: 'sync', app: 'web', sha: 'a'.repeat(40), jobId: 'sync-web-3', at: 1_700_000_000_000 },
    { kind: 'plan', app: 'web', sha: 'b'.repeat(40), jobId: 'plan-web-7-bbb', at: 1_700_000_000_001, number: 7, ref: 'feature/x' },
  ];
  for (const event of events) t.same(decodeEvent('lf:events', '1-0', encodeEvent(event)), event, event.kind);
});

t.test('events: an entry the first version wrote (no kind) is a sync', async (t) => {
  const F = EVENT_FIELDS;
  t.same(decodeEvent('lf:events', '1-0', [F.app, 'web', F.sha, 'abc', F.jobId, 'sync-web-1', F.at, '5']), {
    kind: 'sync',
    app: 'web',
    sha: 'abc',
    jobId: 'sync-web-1',
    at: 5,
  });
});

t.test('events: a malformed entry is a StoredDataError naming the stream, entry and field', async (t) => {
  const F = EVENT_FIELDS;
  const cases: [string, string[], RegExp][] = [
    ['no sha', [F.kind, 's', F.app, 'web', F.jobId, 'sync-web-1'], new RegExp(`entry 9-1 holds unreadable data: ${F.sha}:`)],
    ['an unknown kind', [F.kind, 'x', F.app, 'web', F.sha, 'abc', F.jobId, 'j'], new RegExp(`${F.kind}:`)],
    ['nothing at all', [], /unreadable data/],
    ['an odd field list', [F.app], /unreadable data/],
  ];
  for (const [what, fields, message] of cases) {
    t.throws(() => decodeEvent('lf:events', '9-1', fields), StoredDataError, what);
    t.throws(() => decodeEvent('lf:events', '9-1', fields), { message }, what);
  }
  t.equal(decodeEvent('lf:events', '1-0', [F.app, 'web', F.sha, 'abc', F.jobId, 'j', F.at, 'soon']).at, 0, 'an unreadable time is unknown (0), not NaN');
});

t.test('status slot hash: read with its types; empty fields are missing', async (t) => {
  const slot = decodeStatusSlot('lf:status:d', {
    forge: 'github',
    repo: 'acme/web',
    sha: 'abc',
    context: 'landfall/web',
    state: 'running',
    description: 'Deploying',
    targetUrl: 'https://x/syncs/1',
    ref: '',
    recordId: 'r1',
    summary: '',
    seq: '3',
    at: '9',
  });
  t.equal(slot.state, 'running');
  t.equal(slot.ref, undefined, "'' is no ref");
  t.equal(slot.summary, undefined);
  t.throws(() => decodeStatusSlot('lf:status:d', { forge: 'sourcehut', repo: 'r', sha: 's', context: 'c', state: 'running' }), {
    name: 'StoredDataError',
    message: /lf:status:d holds unreadable data: forge:/,
  });
  t.throws(() => decodeStatusSlot('lf:status:d', { forge: 'github', repo: 'r', sha: 's', context: 'c', state: 'done' }), { message: /state:/ });
});

t.test('plan comment hash: the number reads as a number; no body is an error', async (t) => {
  const comment = decodeCommentSlot('lf:c', { forge: 'gitlab', repo: 'g/w', app: 'web', number: '12', body: 'hello', recordId: 'r', seq: '1' });
  t.equal(comment.number, 12);
  t.equal(comment.id, undefined);
  t.throws(() => decodeCommentSlot('lf:c', { forge: 'gitlab', repo: 'g/w', app: 'web', number: 'twelve', body: 'x' }), { message: /number:/ });
});

t.test('records and hashes: bad JSON and wrong shapes are StoredDataErrors', async (t) => {
  t.throws(() => decodeStoredJson(syncRecordSchema, 'lf:history:1', '{"id":'), {
    name: 'StoredDataError',
    message: 'lf:history:1 holds unreadable data: not JSON',
  });
  t.throws(() => decodeStoredJson(syncRecordSchema, 'lf:history:1', '{"id":"1"}'), { message: /lf:history:1 holds unreadable data: app:/ });
  t.throws(() => decodeHash(appStateSchema, 'lf:app:web:state', { lastResult: 'exploded' }), { message: /lastResult:/ });
  t.same(decodeHash(appStateSchema, 'lf:app:web:state', { deployedSha: 'abc', lastSyncId: '' }), { deployedSha: 'abc' });
});
