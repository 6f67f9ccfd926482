// Each adapter's parse() called directly, for what pull-request previews read: the labels and the
// author of a pull request, label changes, and new comments. Real payloads where they exist (the
// shared fixtures, GitHub's official examples); elsewhere payloads shaped after the forges' own
// documentation and sources (named beside each), carrying more fields than the adapters read.
import t, { type Test } from 'tap';
import type { ForgeId } from '../../src/config/schema.js';
import { FORGES } from '../../src/forges/registry.js';
import type { ForgeEvent, ParseResult } from '../../src/forges/types.js';
import { fixture, githubExamples } from '../support/fixtures.js';

const DELIVERY = 'delivery-1';

function parse(forge: ForgeId, event: string, body: unknown): ParseResult {
  return FORGES.get(forge)!.parse(event, body, DELIVERY);
}

/** The one event a delivery yields; fails the test (and returns undefined) when it yields anything else. */
function single(t: Test, result: ParseResult): ForgeEvent | undefined {
  if (!('events' in result)) {
    t.fail(`expected one event, got ignored ${result.ignored}: ${result.detail}`);
    return undefined;
  }
  t.equal(result.events.length, 1, 'exactly one event');
  return result.events[0];
}

/** A shared fixture, parsed, to derive variants from. */
function json(path: string): Record<string, any> {
  return JSON.parse(fixture(path).toString('utf8')) as Record<string, any>;
}

/** A PayloadError whose message names the forge's event and the bad field. */
function throwsPayloadError(t: Test, fn: () => unknown, message: RegExp, what: string): void {
  t.throws(fn, { name: 'PayloadError', code: 'PAYLOAD_INVALID', message }, what);
}

t.test('GitHub', async (t) => {
  t.test('every pull request carries its labels and who opened it', async (t) => {
    const examples = githubExamples('pull_request').filter((e) => ['opened', 'synchronize', 'reopened', 'labeled', 'unlabeled'].includes(e.action));
    t.ok(examples.length >= 8, `${examples.length} examples`);
    for (const example of examples) {
      const event = single(t, parse('github', 'pull_request', example));
      t.match(event, {
        kind: 'pull_request',
        labels: example.pull_request.labels.map((l: { name: string }) => l.name),
        author: example.pull_request.user.login,
      });
    }
    const opened = single(
      t,
      parse(
        'github',
        'pull_request',
        examples.find((e) => e.action === 'opened' && e.pull_request.labels.length === 0),
      ),
    );
    t.match(opened, { action: 'opened', labels: [], author: 'Codertocat' }, 'no labels is an empty list, not missing');
  });

  t.test('labeled and unlabeled are label changes, with the labels after the change', async (t) => {
    for (const action of ['labeled', 'unlabeled']) {
      const example = githubExamples('pull_request').find((e) => e.action === action)!;
      t.same(single(t, parse('github', 'pull_request', example)), {
        kind: 'pull_request',
        forge: 'github',
        repo: 'Codertocat/Hello-World',
        number: 2,
        action: 'labeled',
        headSha: example.pull_request.head.sha,
        headBranch: 'changes',
        headRepo: 'Codertocat/Hello-World',
        baseBranch: 'master',
        merged: false,
        labels: ['bug'],
        author: 'Codertocat',
        deliveryId: DELIVERY,
      });
    }
    const removed = githubExamples('pull_request').find((e) => e.action === 'unlabeled')!;
    const none = { ...removed, pull_request: { ...removed.pull_request, labels: [] } };
    t.match(single(t, parse('github', 'pull_request', none)), { action: 'labeled', labels: [] }, 'the last label removed');
  });

  t.test('a payload without labels or user says nothing about them', async (t) => {
    const example = githubExamples('pull_request').find((e) => e.action === 'opened')!;
    const { labels: _labels, user: _user, ...bare } = example.pull_request;
    const event = single(t, parse('github', 'pull_request', { ...example, pull_request: bare }));
    t.notOk(event && 'labels' in event, 'no labels key');
    t.notOk(event && 'author' in event, 'no author key');
  });

  t.test('a new comment on a pull request is a comment event', async (t) => {
    // GitHub's examples are all comments on issues; a pull request's issue has `pull_request`.
    const examples = githubExamples('issue_comment');
    t.ok(examples.length >= 3, `${examples.length} examples`);
    for (const example of examples) {
      t.same(parse('github', 'issue_comment', example), { ignored: 'unhandled-event', detail: 'a comment on issue #1, not on a pull request' }, example.action);
    }
    const created = examples.find((e) => e.action === 'created')!;
    const onPull = { ...created, issue: { ...created.issue, pull_request: { url: 'https://api.github.com/repos/Codertocat/Hello-World/pulls/1' } } };
    t.same(single(t, parse('github', 'issue_comment', onPull)), {
      kind: 'comment',
      forge: 'github',
      repo: 'Codertocat/Hello-World',
      number: 1,
      author: 'Codertocat',
      body: "You are totally right! I'll get this fixed right away.",
      deliveryId: DELIVERY,
    });
    for (const action of ['edited', 'deleted']) {
      const example = examples.find((e) => e.action === action)!;
      const changed = { ...example, issue: { ...example.issue, pull_request: { url: 'https://api.github.com/repos/Codertocat/Hello-World/pulls/1' } } };
      t.match(parse('github', 'issue_comment', changed), { ignored: 'unhandled-action', detail: new RegExp(`"${action}"`) }, `${action}: ignored`);
    }
  });

  t.test('malformed payloads name the field', async (t) => {
    const created = githubExamples('issue_comment').find((e) => e.action === 'created')!;
    const { user: _user, ...anonymous } = created.comment;
    throwsPayloadError(
      t,
      () => parse('github', 'issue_comment', { ...created, comment: anonymous }),
      /^GitHub issue_comment payload is malformed at comment\.user: /,
      'comment without user',
    );
    throwsPayloadError(
      t,
      () => parse('github', 'issue_comment', { ...created, issue: { ...created.issue, number: '1' } }),
      /malformed at issue\.number/,
      'issue number as a string',
    );
    const labeled = githubExamples('pull_request').find((e) => e.action === 'labeled')!;
    throwsPayloadError(
      t,
      () => parse('github', 'pull_request', { ...labeled, pull_request: { ...labeled.pull_request, labels: ['bug'] } }),
      /^GitHub pull_request payload is malformed at pull_request\.labels\.0: /,
      'labels as strings',
    );
  });
});

t.test('GitLab', async (t) => {
  const opened = json('gitlab/pull_request_create.json');
  const mr = (attrs: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
    ...opened,
    ...extra,
    object_attributes: { ...opened.object_attributes, ...attrs },
  });
  const label = (id: number, title: string) => ({ id, title, color: '#428BCA', project_id: 14, type: 'ProjectLabel', group_id: null });

  t.test('the captured payloads carry labels, and the author where the payload says who that is', async (t) => {
    t.match(single(t, parse('gitlab', 'Merge Request Hook', opened)), { action: 'opened', labels: [], author: 'sytses' }, 'open: the actor opened it');
    const merged = single(t, parse('gitlab', 'Merge Request Hook', json('gitlab/pull_request_merge.json')));
    t.match(merged, { action: 'merged', labels: [] });
    // Merged by `user`; the payload names the author by id only and this user carries no id.
    t.notOk(merged && 'author' in merged, 'no author: the one who merged need not be the one who opened');
  });

  t.test('the author is the actor exactly when their ids match', async (t) => {
    const push = { action: 'update', oldrev: 'a'.repeat(40), author_id: 51764 };
    const same = single(t, parse('gitlab', 'Merge Request Hook', mr(push, { user: { ...opened.user, id: 51764 } })));
    t.match(same, { action: 'updated', author: 'sytses' });
    const other = single(t, parse('gitlab', 'Merge Request Hook', mr(push, { user: { ...opened.user, id: 7 } })));
    t.notOk(other && 'author' in other, 'someone else acted: no author');
  });

  t.test('an update with new commits stays an update, even when labels are listed as changed', async (t) => {
    const event = single(
      t,
      parse(
        'gitlab',
        'Merge Request Hook',
        mr(
          { action: 'update', oldrev: 'e'.repeat(40) },
          { labels: [label(1, 'preview')], changes: { labels: { previous: [], current: [label(1, 'preview')] } } },
        ),
      ),
    );
    t.match(event, { action: 'updated', headSha: opened.object_attributes.last_commit.id, labels: ['preview'] });
  });

  t.test('an update without commits whose labels changed is a label change', async (t) => {
    const added = mr(
      { action: 'update', labels: [label(1, 'bug'), label(2, 'preview')] },
      { labels: [label(1, 'bug'), label(2, 'preview')], changes: { labels: { previous: [label(1, 'bug')], current: [label(1, 'bug'), label(2, 'preview')] } } },
    );
    t.same(single(t, parse('gitlab', 'Merge Request Hook', added)), {
      kind: 'pull_request',
      forge: 'gitlab',
      repo: 'gitlab-org/hello-world',
      number: 1,
      action: 'labeled',
      headSha: 'c4c79227ed610f1151f05bbc5be33b4f340d39c8',
      headBranch: 'feature',
      headRepo: 'gitlab-org/hello-world',
      baseBranch: 'master',
      merged: false,
      labels: ['bug', 'preview'],
      deliveryId: DELIVERY,
    });
    const cleared = mr({ action: 'update' }, { labels: [], changes: { labels: { previous: [label(2, 'preview')], current: [] } } });
    t.match(single(t, parse('gitlab', 'Merge Request Hook', cleared)), { action: 'labeled', labels: [] }, 'the last label removed');
    // gitlab#22023: `previous` sometimes arrives null.
    const fromNull = mr({ action: 'update' }, { labels: [label(2, 'preview')], changes: { labels: { previous: null, current: [label(2, 'preview')] } } });
    t.match(single(t, parse('gitlab', 'Merge Request Hook', fromNull)), { action: 'labeled', labels: ['preview'] }, 'previous: null');
  });

  t.test('labels come from object_attributes when the top-level list is absent', async (t) => {
    const { labels: _labels, ...bare } = opened;
    const event = single(
      t,
      parse('gitlab', 'Merge Request Hook', { ...bare, object_attributes: { ...opened.object_attributes, labels: [label(3, 'preview')] } }),
    );
    t.match(event, { labels: ['preview'] });
  });

  t.test('other updates without commits are still ignored', async (t) => {
    const title = mr({ action: 'update' }, { changes: { title: { previous: 'Old', current: 'New' } } });
    t.same(parse('gitlab', 'Merge Request Hook', title), { ignored: 'unhandled-action', detail: 'merge request updated without new commits or label changes' });
    // gitlab#216874: unchanged labels repeated under `changes`.
    const same = mr({ action: 'update' }, { changes: { labels: { previous: [label(1, 'bug')], current: [label(1, 'bug')] } } });
    t.match(parse('gitlab', 'Merge Request Hook', same), { ignored: 'unhandled-action' }, 'the same labels before and after');
  });

  // After "Comment on a merge request" in GitLab's webhook_events.md.
  const note = (attrs: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) => ({
    object_kind: 'note',
    event_type: 'note',
    user: { id: 1, name: 'Administrator', username: 'root', email: 'admin@example.com' },
    project_id: 5,
    project: { id: 5, name: 'Gitlab Test', path_with_namespace: 'gitlab-org/gitlab-test', default_branch: 'master' },
    object_attributes: {
      id: 1244,
      note: 'This MR needs work.',
      noteable_type: 'MergeRequest',
      author_id: 1,
      project_id: 5,
      noteable_id: 7,
      system: false,
      action: 'create',
      url: 'http://example.com/gitlab-org/gitlab-test/merge_requests/1#note_1244',
      ...attrs,
    },
    merge_request: { id: 7, iid: 1, target_branch: 'markdown', source_branch: 'master', state: 'opened', last_commit: { id: 'a'.repeat(40) } },
    ...extra,
  });

  t.test('a new comment on a merge request is a comment event', async (t) => {
    const expected = {
      kind: 'comment',
      forge: 'gitlab',
      repo: 'gitlab-org/gitlab-test',
      number: 1,
      author: 'root',
      body: 'This MR needs work.',
      deliveryId: DELIVERY,
    };
    t.same(single(t, parse('gitlab', 'Note Hook', note())), expected);
    const { action: _action, ...old } = note().object_attributes;
    t.same(single(t, parse('gitlab', 'Note Hook', note({}, { object_attributes: old }))), expected, 'before GitLab 16.11: no action');
  });

  t.test('edited, system and non-merge-request notes are ignored', async (t) => {
    t.same(parse('gitlab', 'Note Hook', note({ action: 'update' })), { ignored: 'unhandled-action', detail: 'Note Hook action "update" is not a new comment' });
    t.match(parse('gitlab', 'Note Hook', note({ system: true, note: 'added 1 commit' })), { ignored: 'unhandled-action' }, 'system note');
    const { merge_request: _mr, ...onIssue } = note({ noteable_type: 'Issue' });
    t.same(parse('gitlab', 'Note Hook', { ...onIssue, issue: { iid: 17 } }), {
      ignored: 'unhandled-event',
      detail: 'a comment on a Issue, not on a merge request',
    });
  });

  t.test('malformed payloads name the field', async (t) => {
    const { merge_request: _mr, ...noMr } = note();
    throwsPayloadError(t, () => parse('gitlab', 'Note Hook', noMr), /^GitLab Note Hook payload is malformed at merge_request: /, 'no merge_request');
    throwsPayloadError(t, () => parse('gitlab', 'Note Hook', { hello: 'world' }), /malformed at object_attributes/, 'no object_attributes');
    throwsPayloadError(t, () => parse('gitlab', 'Note Hook', note({ note: null })), /malformed at object_attributes\.note/, 'note: null');
    throwsPayloadError(
      t,
      () => parse('gitlab', 'Merge Request Hook', mr({}, { labels: [{ id: 1 }] })),
      /^GitLab Merge Request Hook payload is malformed at labels\.0\.title: /,
      'a label without title',
    );
  });
});

t.test('Gitea', async (t) => {
  const opened = json('gitea/pull_request_opened.json');
  const withPr = (action: string, pull: Record<string, unknown>) => ({ ...opened, action, pull_request: { ...opened.pull_request, ...pull } });
  const label = (id: number, name: string) => ({
    id,
    name,
    color: 'e11d21',
    description: '',
    url: `https://gitea.example.com/api/v1/repos/jcitizen/my-repo/labels/${id}`,
  });

  t.test('the captured payloads carry labels and who opened the pull request', async (t) => {
    t.match(single(t, parse('gitea', 'pull_request', opened)), { action: 'opened', labels: [], author: 'jcitizen' });
    t.match(single(t, parse('gitea', 'pull_request', json('gitea/pull_request_synchronized.json'))), { action: 'updated', labels: [], author: 'jcitizen' });
  });

  t.test('label_updated and label_cleared, sent under the pull_request header, are label changes', async (t) => {
    t.same(single(t, parse('gitea', 'pull_request', withPr('label_updated', { labels: [label(1, 'preview')] }))), {
      kind: 'pull_request',
      forge: 'gitea',
      repo: 'jcitizen/my-repo',
      number: 1,
      action: 'labeled',
      headSha: '2eba238e33607c1fa49253182e9fff42baafa1eb',
      headBranch: 'feature',
      headRepo: 'jcitizen/my-repo',
      baseBranch: 'master',
      merged: false,
      labels: ['preview'],
      author: 'jcitizen',
      deliveryId: DELIVERY,
    });
    // Go marshals an empty slice as null.
    t.match(single(t, parse('gitea', 'pull_request', withPr('label_cleared', { labels: null }))), { action: 'labeled', labels: [] });
  });

  // After Gitea's IssueCommentPayload (modules/structs/hook.go) and Comment (issue_comment.go).
  const comment = (extra: Record<string, unknown> = {}) => ({
    action: 'created',
    issue: { id: 3, number: 1, title: 'Feature', user: { id: 6641, login: 'jcitizen' }, labels: [], state: 'open' },
    comment: {
      id: 11,
      html_url: 'https://gitea.example.com/jcitizen/my-repo/pulls/1#issuecomment-11',
      user: { id: 1, login: 'maintainer' },
      body: 'approve 2eba238',
    },
    repository: opened.repository,
    sender: { id: 1, login: 'maintainer' },
    is_pull: true,
    ...extra,
  });

  t.test('a new comment on a pull request is a comment event', async (t) => {
    t.same(single(t, parse('gitea', 'issue_comment', comment())), {
      kind: 'comment',
      forge: 'gitea',
      repo: 'jcitizen/my-repo',
      number: 1,
      author: 'maintainer',
      body: 'approve 2eba238',
      deliveryId: DELIVERY,
    });
    t.same(parse('gitea', 'issue_comment', comment({ is_pull: false })), {
      ignored: 'unhandled-event',
      detail: 'a comment on issue #1, not on a pull request',
    });
    for (const action of ['edited', 'deleted']) {
      t.match(parse('gitea', 'issue_comment', comment({ action })), { ignored: 'unhandled-action' }, `${action}: ignored`);
    }
  });

  t.test('malformed payloads name the field', async (t) => {
    throwsPayloadError(
      t,
      () => parse('gitea', 'issue_comment', comment({ comment: { id: 11, user: { login: 'maintainer' } } })),
      /^Gitea issue_comment payload is malformed at comment\.body: /,
      'comment without body',
    );
    throwsPayloadError(
      t,
      () => parse('gitea', 'pull_request', withPr('label_updated', { labels: [{ id: 1 }] })),
      /^Gitea pull_request payload is malformed at pull_request\.labels\.0\.name: /,
      'a label without name',
    );
  });
});

t.test('Bitbucket Cloud', async (t) => {
  const created = json('bitbucket-cloud/pr_created.json');
  const ACCOUNT = '557058:2a6349dc-4346-4805-bd84-3abdd0812d17';

  t.test('a pull request carries its author as the Atlassian account id, and no labels', async (t) => {
    const event = single(t, parse('bitbucket', 'pullrequest:created', created));
    t.match(event, { action: 'opened', author: ACCOUNT });
    t.notOk(event && 'labels' in event, 'Bitbucket has no labels');
    const { account_id: _id, ...noAccount } = created.pullrequest.author;
    const byUuid = single(
      t,
      parse('bitbucket', 'pullrequest:updated', { ...created, pullrequest: { ...created.pullrequest, author: { ...noAccount, uuid: '{d1f0aa5b}' } } }),
    );
    t.match(byUuid, { author: '{d1f0aa5b}' }, 'the uuid without an account id');
  });

  // After the "Comment created" pull request event (support.atlassian.com event-payloads) and
  // go-scm's webhookPRComment: a comment with `content` and `user`, beside the pull request.
  const comment = (user: Record<string, unknown> = { display_name: 'Jane Maintainer', nickname: 'jane', account_id: '557058:jane', uuid: '{jane}' }) => ({
    actor: user,
    repository: created.repository,
    pullrequest: { id: 1, title: 'Develop', state: 'OPEN', source: created.pullrequest.source, destination: created.pullrequest.destination },
    comment: {
      id: 17,
      content: { raw: 'approve 507a576e59b3', markup: 'markdown', html: '<p>approve 507a576e59b3</p>', type: 'rendered' },
      user,
      deleted: false,
      type: 'pullrequest_comment',
      links: { html: { href: 'https://bitbucket.org/brydzewski/foo/pull-requests/1/_/diff#comment-17' } },
    },
  });

  t.test('a new comment is a comment event by the account id', async (t) => {
    t.same(single(t, parse('bitbucket', 'pullrequest:comment_created', comment())), {
      kind: 'comment',
      forge: 'bitbucket',
      repo: 'brydzewski/foo',
      number: 1,
      author: '557058:jane',
      body: 'approve 507a576e59b3',
      deliveryId: DELIVERY,
    });
    t.match(single(t, parse('bitbucket', 'pullrequest:comment_created', comment({ display_name: 'Jane', uuid: '{jane}' }))), { author: '{jane}' });
    for (const event of ['pullrequest:comment_updated', 'pullrequest:comment_deleted', 'pullrequest:comment_resolved']) {
      t.same(parse('bitbucket', event, comment()), { ignored: 'unhandled-action', detail: `${event} is not a new comment` });
    }
  });

  t.test('malformed payloads name the field', async (t) => {
    throwsPayloadError(
      t,
      () => parse('bitbucket', 'pullrequest:comment_created', comment({ display_name: 'Jane Maintainer', nickname: 'jane' })),
      /^Bitbucket pullrequest:comment_created payload is malformed at comment\.user: names neither account_id nor uuid$/,
      'a user named only by nickname',
    );
    const { content: _content, ...empty } = comment().comment;
    throwsPayloadError(
      t,
      () => parse('bitbucket', 'pullrequest:comment_created', { ...comment(), comment: empty }),
      /malformed at comment\.content/,
      'a comment without content',
    );
  });
});

t.test('Bitbucket Data Center', async (t) => {
  const open = json('bitbucket-server/pr_open.json');

  t.test('a pull request carries its author, and no labels', async (t) => {
    const event = single(t, parse('bitbucket-server', 'pr:opened', open));
    t.match(event, { action: 'opened', author: 'jcitizen' });
    t.notOk(event && 'labels' in event, 'Bitbucket Data Center has no labels');
  });

  // After pr:comment:added on Atlassian's "Event payload" page and @coderabbitai/bitbucket's PRCommentAdded.
  const maintainer = { name: 'admin', emailAddress: 'admin@example.com', id: 2, displayName: 'Administrator', active: true, slug: 'admin', type: 'NORMAL' };
  const comment = (text: unknown = 'approve 208b0a5c05eddadad01f2aed8802fe0c3b3eaf5e') => ({
    eventKey: 'pr:comment:added',
    date: '2017-09-19T11:16:07+1000',
    actor: maintainer,
    pullRequest: open.pullRequest,
    comment: {
      properties: { repositoryId: 84 },
      id: 62,
      version: 0,
      text,
      author: maintainer,
      createdDate: 1505783767000,
      updatedDate: 1505783767000,
      comments: [],
    },
  });

  t.test('a new comment is a comment event', async (t) => {
    t.same(single(t, parse('bitbucket-server', 'pr:comment:added', comment())), {
      kind: 'comment',
      forge: 'bitbucket-server',
      repo: 'PRJ/my-repo',
      number: 2,
      author: 'admin',
      body: 'approve 208b0a5c05eddadad01f2aed8802fe0c3b3eaf5e',
      deliveryId: DELIVERY,
    });
    for (const event of ['pr:comment:edited', 'pr:comment:deleted']) {
      t.same(parse('bitbucket-server', event, comment()), { ignored: 'unhandled-action', detail: `${event} is not a new comment` });
    }
  });

  t.test('malformed payloads name the field', async (t) => {
    throwsPayloadError(
      t,
      () => parse('bitbucket-server', 'pr:comment:added', comment(42)),
      /^Bitbucket DC pr:comment:added payload is malformed at comment\.text: /,
      'text as a number',
    );
    const { author: _author, ...pull } = open.pullRequest;
    throwsPayloadError(
      t,
      () => parse('bitbucket-server', 'pr:opened', { ...open, pullRequest: { ...pull, author: { role: 'AUTHOR' } } }),
      /malformed at pullRequest\.author\.user/,
      'an author without user',
    );
  });
});
