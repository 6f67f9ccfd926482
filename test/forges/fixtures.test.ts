// Every shared fixture and GitHub's official examples, signed with the real algorithm and sent
// over a real socket: the right answer, and the exact job in Redis.
import t from 'tap';
import type { ForgeId } from '../../src/config/schema.js';
import { fixture, githubExamples } from '../support/fixtures.js';
import { queuesForTest } from '../support/queues.js';
import { redisForTest } from '../support/redis.js';
import { gitlabSigningToken, KITS } from '../support/sign.js';
import { startWeb } from '../support/web.js';

const SECRET = 'fixture-secret-123456';
const ZERO = '0'.repeat(40);

const CONFIG = `
forges:
  github: { webhookSecret: ${SECRET} }
  gitlab: { webhookSecret: ${SECRET}, signingToken: "${gitlabSigningToken(SECRET)}" }
  bitbucket: { webhookSecret: ${SECRET} }
  bitbucket-server: { webhookSecret: ${SECRET}, url: "https://bitbucket.example.com" }
  gitea: { webhookSecret: ${SECRET}, url: "https://gitea.example.com" }
apps:
  - { name: gh-main, forge: github, repo: codertocat/hello-world, branch: master, namespace: web }
  - { name: gl-main, forge: gitlab, repo: gitlab-org/hello-world, branch: master, namespace: web }
  - { name: gl-feature, forge: gitlab, repo: gitlab-org/hello-world, branch: feature, namespace: web }
  - { name: bb-main, forge: bitbucket, repo: brydzewski/foo, branch: master, namespace: web }
  - { name: bb-develop, forge: bitbucket, repo: brydzewski/foo, branch: develop, namespace: web }
  - { name: dc-main, forge: bitbucket-server, repo: PRJ/my-repo, branch: master, namespace: web }
  - { name: dc-develop, forge: bitbucket-server, repo: PRJ/my-repo, branch: develop, namespace: web }
  - { name: gt-main, forge: gitea, repo: gogits/hello-world, branch: master, namespace: web }
  - { name: gt-feature, forge: gitea, repo: gogits/hello-world, branch: feature, namespace: web }
  - { name: gt-pr, forge: gitea, repo: jcitizen/my-repo, branch: master, namespace: web }
`;

interface Case {
  forge: ForgeId;
  file?: string;
  body?: Buffer;
  event: string;
  status: number;
  ignored?: string;
  sync?: { app: string; repo: string; branch: string; sha: string; before: string };
  plan?: { app: string; repo: string; number: number; action: string; headSha: string; headBranch: string; headRepo: string; baseBranch: string };
}

const CASES: Case[] = [
  {
    forge: 'gitlab',
    file: 'gitlab/push.json',
    event: 'Push Hook',
    status: 202,
    sync: {
      app: 'gl-main',
      repo: 'gitlab-org/hello-world',
      branch: 'master',
      sha: '2adc9465c4edfc33834e173fe89436a7cb899a1d',
      before: '9217710ce8c7e1eae7a5d1c45f6e43e1c769f866',
    },
  },
  { forge: 'gitlab', file: 'gitlab/branch_delete.json', event: 'Push Hook', status: 200, ignored: 'branch-deleted' },
  { forge: 'gitlab', file: 'gitlab/tag_create.json', event: 'Tag Push Hook', status: 200, ignored: 'tag' },
  {
    forge: 'gitlab',
    file: 'gitlab/pull_request_create.json',
    event: 'Merge Request Hook',
    status: 202,
    plan: {
      app: 'gl-main',
      repo: 'gitlab-org/hello-world',
      number: 1,
      action: 'opened',
      headSha: 'c4c79227ed610f1151f05bbc5be33b4f340d39c8',
      headBranch: 'feature',
      headRepo: 'gitlab-org/hello-world',
      baseBranch: 'master',
    },
  },
  { forge: 'gitlab', file: 'gitlab/pull_request_merge.json', event: 'Merge Request Hook', status: 200, ignored: 'pr-merged' },
  {
    forge: 'bitbucket',
    file: 'bitbucket-cloud/push.json',
    event: 'repo:push',
    status: 202,
    sync: {
      app: 'bb-main',
      repo: 'brydzewski/foo',
      branch: 'master',
      sha: '141977fedf5cf35aa290ac87d4b5177ac4cd9de1',
      before: '40e7580cf11311d84a6e5e97e2cbba6df1675750',
    },
  },
  { forge: 'bitbucket', file: 'bitbucket-cloud/push_branch_delete.json', event: 'repo:push', status: 200, ignored: 'branch-deleted' },
  { forge: 'bitbucket', file: 'bitbucket-cloud/push_tag_create.json', event: 'repo:push', status: 200, ignored: 'tag' },
  {
    forge: 'bitbucket',
    file: 'bitbucket-cloud/pr_created.json',
    event: 'pullrequest:created',
    status: 202,
    plan: {
      app: 'bb-main',
      repo: 'brydzewski/foo',
      number: 1,
      action: 'opened',
      headSha: '507a576e59b3',
      headBranch: 'develop',
      headRepo: 'brydzewski/foo',
      baseBranch: 'master',
    },
  },
  {
    forge: 'bitbucket',
    file: 'bitbucket-cloud/pr_updated.json',
    event: 'pullrequest:updated',
    status: 202,
    plan: {
      app: 'bb-main',
      repo: 'brydzewski/foo',
      number: 1,
      action: 'updated',
      headSha: '0704fc5beccc',
      headBranch: 'develop',
      headRepo: 'brydzewski/foo',
      baseBranch: 'master',
    },
  },
  { forge: 'bitbucket', file: 'bitbucket-cloud/pr_fulfilled.json', event: 'pullrequest:fulfilled', status: 200, ignored: 'pr-merged' },
  {
    forge: 'bitbucket-server',
    file: 'bitbucket-server/push.json',
    event: 'repo:refs_changed',
    status: 202,
    sync: {
      app: 'dc-main',
      repo: 'PRJ/my-repo',
      branch: 'master',
      sha: '823b2230a56056231c9425d63758fa87078a66b4',
      before: '5c64a07cd6c0f21b753bf261ef059c7e7633c50a',
    },
  },
  { forge: 'bitbucket-server', file: 'bitbucket-server/push_branch_delete.json', event: 'repo:refs_changed', status: 200, ignored: 'branch-deleted' },
  {
    forge: 'bitbucket-server',
    file: 'bitbucket-server/pr_open.json',
    event: 'pr:opened',
    status: 202,
    plan: {
      app: 'dc-main',
      repo: 'PRJ/my-repo',
      number: 2,
      action: 'opened',
      headSha: '208b0a5c05eddadad01f2aed8802fe0c3b3eaf5e',
      headBranch: 'develop',
      headRepo: 'PRJ/my-repo',
      baseBranch: 'master',
    },
  },
  {
    forge: 'bitbucket-server',
    file: 'bitbucket-server/pr_from_ref_updated.json',
    event: 'pr:from_ref_updated',
    status: 202,
    plan: {
      app: 'dc-main',
      repo: 'PRJ/my-repo',
      number: 2,
      action: 'updated',
      headSha: 'c00d0f269a9844dd168f72f6a9d78a9cff49a318',
      headBranch: 'feature-2',
      headRepo: 'PRJ/my-repo',
      baseBranch: 'master',
    },
  },
  { forge: 'bitbucket-server', file: 'bitbucket-server/pr_merged.json', event: 'pr:merged', status: 200, ignored: 'pr-merged' },
  { forge: 'bitbucket-server', body: Buffer.from('{"test": true}'), event: 'diagnostics:ping', status: 200, ignored: 'ping' },
  {
    forge: 'gitea',
    file: 'gitea/push.json',
    event: 'push',
    status: 202,
    sync: {
      app: 'gt-main',
      repo: 'gogits/hello-world',
      branch: 'master',
      sha: '4522cbcefc20728a5b72b3a86af35e608622c514',
      before: '9836a96a253cce25d17988fcf41b8c4205cf779f',
    },
  },
  { forge: 'gitea', file: 'gitea/branch_delete.json', event: 'delete', status: 200, ignored: 'branch-deleted' },
  {
    forge: 'gitea',
    file: 'gitea/pull_request_opened.json',
    event: 'pull_request',
    status: 202,
    plan: {
      app: 'gt-pr',
      repo: 'jcitizen/my-repo',
      number: 1,
      action: 'opened',
      headSha: '2eba238e33607c1fa49253182e9fff42baafa1eb',
      headBranch: 'feature',
      headRepo: 'jcitizen/my-repo',
      baseBranch: 'master',
    },
  },
  {
    forge: 'gitea',
    file: 'gitea/pull_request_synchronized.json',
    event: 'pull_request',
    status: 202,
    plan: {
      app: 'gt-pr',
      repo: 'jcitizen/my-repo',
      number: 1,
      action: 'updated',
      headSha: '2eba238e33607c1fa49253182e9fff42baafa1eb',
      headBranch: 'feature',
      headRepo: 'jcitizen/my-repo',
      baseBranch: 'master',
    },
  },
  { forge: 'gitea', file: 'gitea/pull_request_merged.json', event: 'pull_request', status: 200, ignored: 'pr-merged' },
];

// GitHub's official examples: every push, pull_request and ping.
for (const [i, example] of githubExamples('push').entries()) {
  const body = Buffer.from(JSON.stringify(example));
  CASES.push(
    example.ref.startsWith('refs/tags/')
      ? { forge: 'github', body, event: 'push', status: 200, ignored: 'tag', file: `github push example ${i}` }
      : {
          forge: 'github',
          body,
          event: 'push',
          status: 202,
          file: `github push example ${i}`,
          sync: { app: 'gh-main', repo: 'codertocat/hello-world', branch: 'master', sha: example.after, before: example.before },
        },
  );
}
const GITHUB_PR_ACTIONS: Record<string, string> = { opened: 'opened', synchronize: 'updated', reopened: 'reopened' };
for (const [i, example] of githubExamples('pull_request').entries()) {
  const body = Buffer.from(JSON.stringify(example));
  const action = GITHUB_PR_ACTIONS[example.action];
  const file = `github pull_request example ${i} (${example.action})`;
  if (action) {
    CASES.push({
      forge: 'github',
      body,
      event: 'pull_request',
      status: 202,
      file,
      plan: {
        app: 'gh-main',
        repo: 'codertocat/hello-world',
        number: example.number,
        action,
        headSha: example.pull_request.head.sha,
        headBranch: example.pull_request.head.ref,
        headRepo: example.pull_request.head.repo.full_name,
        baseBranch: 'master',
      },
    });
  } else {
    CASES.push({ forge: 'github', body, event: 'pull_request', status: 200, file, ignored: example.action === 'closed' ? 'pr-closed' : 'unhandled-action' });
  }
}
// No official example of a merged pull request exists; derive one from a closed example.
const closed = githubExamples('pull_request').find((e) => e.action === 'closed');
CASES.push({
  forge: 'github',
  event: 'pull_request',
  status: 200,
  ignored: 'pr-merged',
  file: 'github pull_request closed+merged',
  body: Buffer.from(JSON.stringify({ ...closed, pull_request: { ...closed!.pull_request, merged: true } })),
});
for (const [i, example] of githubExamples('ping').entries()) {
  CASES.push({ forge: 'github', body: Buffer.from(JSON.stringify(example)), event: 'ping', status: 200, ignored: 'ping', file: `github ping example ${i}` });
}

t.test('fixtures and official examples', async (t) => {
  t.ok(CASES.length > 60, `${CASES.length} cases`);
  for (const c of CASES) {
    t.test(c.file ?? c.event, async (t) => {
      const { url, prefix, redis } = await redisForTest(t, 'fx');
      const web = await startWeb(t, `redis: { url: ${url}, prefix: ${prefix} }\n${CONFIG}`);
      const queues = queuesForTest(t, redis, prefix);
      const body = c.body ?? fixture(c.file!);
      const kit = KITS[c.forge];
      const deliveryId = `fixture-${Math.random().toString(36).slice(2)}`;
      const res = await web.post(`/hooks/${c.forge}`, body, {
        'content-type': 'application/json',
        ...kit.eventHeaders(c.event, deliveryId),
        ...(await kit.sign(body, SECRET)),
      });
      t.equal(res.status, c.status, res.text + web.logs.join(''));
      if (c.ignored) {
        t.equal(res.json.ignored, c.ignored);
        t.equal(await queues.total(), 0, 'nothing queued');
      }
      if (c.sync) {
        const jobId = `sync-${c.sync.app}-0`;
        t.same(res.json, { accepted: [{ app: c.sync.app, sha: c.sync.sha, jobId }] });
        const job = await queues.sync.getJob(jobId);
        const { receivedAt, ...data } = job?.data ?? {};
        t.type(receivedAt, 'number');
        t.same(data, {
          app: c.sync.app,
          trigger: 'push',
          forge: c.forge,
          repo: c.sync.repo,
          branch: c.sync.branch,
          sha: c.sync.sha,
          before: c.sync.before,
          deliveryId,
          generation: 0,
        });
        t.equal(await queues.total(), 1, 'exactly one job');
        t.equal(await redis.hget(`${prefix}:app:${c.sync.app}:desired`, 'sha'), c.sync.sha, 'desired revision recorded');
      }
      if (c.plan) {
        const jobId = `plan-${c.plan.app}-${c.plan.number}-${c.plan.headSha}`;
        t.same(res.json, { accepted: [{ app: c.plan.app, sha: c.plan.headSha, jobId }] });
        const job = await queues.plan.getJob(jobId);
        const { receivedAt, ...data } = job?.data ?? {};
        t.type(receivedAt, 'number');
        t.same(data, { ...c.plan, forge: c.forge, deliveryId });
        t.equal(await queues.total(), 1, 'exactly one job');
      }
    });
  }
});

t.test('a GitHub push whose before is the zero sha (branch created) still deploys', async (t) => {
  const { url, prefix } = await redisForTest(t, 'fx');
  const web = await startWeb(t, `redis: { url: ${url}, prefix: ${prefix} }\n${CONFIG}`);
  const body = JSON.stringify(KITS.github.push('Codertocat/Hello-World', 'master', 'b'.repeat(40)));
  const res = await web.post('/hooks/github', body, {
    'content-type': 'application/json',
    ...KITS.github.eventHeaders('push'),
    ...(await KITS.github.sign(body, SECRET)),
  });
  t.equal(res.status, 202, res.text);
  t.equal(res.json.accepted[0].app, 'gh-main', 'repository names match case-insensitively');
  t.not(ZERO, res.json.accepted[0].sha);
});
