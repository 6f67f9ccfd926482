import { createHmac, randomUUID } from 'node:crypto';
import { sign as octokitSign } from '@octokit/webhooks-methods';
import type { ForgeId } from '../../src/config/schema.js';

/**
 * How each forge signs a delivery and names its event, written from the forges' documentation
 * (reference/forges.md), independently of Landfall's verifiers. GitHub's uses @octokit's own signer.
 */
export interface ForgeKit {
  forge: ForgeId;
  /** Headers naming the event and the delivery. */
  eventHeaders(event: string, deliveryId?: string): Record<string, string>;
  /** Headers that authenticate `body` with `secret`. */
  sign(body: string | Buffer, secret: string, now?: number): Promise<Record<string, string>>;
  /** The event name of a push. */
  pushEvent: string;
  /** A minimal valid push body for a repository and branch. */
  push(repo: string, branch: string, after: string): unknown;
  /** The event name of a pull request, for an action. */
  pullRequestEvent(action: 'opened' | 'updated'): string;
  /** A minimal valid pull-request body, as the forge sends it (Bitbucket Cloud: 12-character hash). */
  pullRequest(repo: string, number: number, action: 'opened' | 'updated', headSha: string, headBranch: string, baseBranch: string): unknown;
  /** The event name of a new comment on a pull request. */
  commentEvent: string;
  /** A minimal valid body of a new comment on pull request `number` of `repo`, written by `author`. */
  comment(repo: string, number: number, author: string, body: string): unknown;
}

const ZERO = '0000000000000000000000000000000000000000';

function hex256(secret: string, body: string | Buffer): string {
  return createHmac('sha256', secret).update(body).digest('hex');
}

/** A GitLab signing token (`whsec_` + base64 of 32 bytes) as GitLab generates them. */
export function gitlabSigningToken(seed = 'landfall'): string {
  return `whsec_${createHmac('sha256', seed).update('signing').digest('base64')}`;
}

/** GitLab's Standard-Webhooks signature headers for a body. */
export function gitlabSignatureHeaders(body: string | Buffer, signingToken: string, now = Date.now(), id = randomUUID()): Record<string, string> {
  const timestamp = String(Math.floor(now / 1000));
  const key = Buffer.from(signingToken.replace(/^whsec_/, ''), 'base64');
  const signature = createHmac('sha256', key).update(`${id}.${timestamp}.`).update(body).digest('base64');
  return { 'webhook-id': id, 'webhook-timestamp': timestamp, 'webhook-signature': `v1,${signature}` };
}

/** One kit per forge, keyed by forge id. */
export const KITS: Record<ForgeId, ForgeKit> = {
  github: {
    forge: 'github',
    eventHeaders: (event, id = randomUUID()) => ({ 'x-github-event': event, 'x-github-delivery': id, 'user-agent': 'GitHub-Hookshot/044aadd' }),
    sign: async (body, secret) => ({ 'x-hub-signature-256': await octokitSign(secret, body.toString()) }),
    pushEvent: 'push',
    push: (repo, branch, after) => ({ ref: `refs/heads/${branch}`, before: ZERO, after, created: true, deleted: false, repository: { full_name: repo } }),
    pullRequestEvent: () => 'pull_request',
    pullRequest: (repo, number, action, headSha, headBranch, baseBranch) => ({
      action: action === 'opened' ? 'opened' : 'synchronize',
      number,
      pull_request: {
        number,
        merged: false,
        merge_commit_sha: null,
        head: { sha: headSha, ref: headBranch, repo: { full_name: repo } },
        base: { ref: baseBranch },
      },
      repository: { full_name: repo },
    }),
    commentEvent: 'issue_comment',
    comment: (repo, number, author, body) => ({
      action: 'created',
      issue: { number, pull_request: { url: `https://api.github.com/repos/${repo}/pulls/${number}` } },
      comment: { user: { login: author }, body },
      repository: { full_name: repo },
    }),
  },
  gitlab: {
    forge: 'gitlab',
    eventHeaders: (event, id = randomUUID()) => ({ 'x-gitlab-event': event, 'idempotency-key': id, 'user-agent': 'GitLab/17.5.0' }),
    // Both of GitLab's mechanisms: the secret token, and a signature made with a signing token
    // derived from the same secret (see gitlabSigningToken), so a body change is detectable.
    sign: async (body, secret, now) => ({ 'x-gitlab-token': secret, ...gitlabSignatureHeaders(body, gitlabSigningToken(secret), now) }),
    pushEvent: 'Push Hook',
    push: (repo, branch, after) => ({
      object_kind: 'push',
      ref: `refs/heads/${branch}`,
      before: ZERO,
      after,
      checkout_sha: after,
      project: { path_with_namespace: repo },
    }),
    pullRequestEvent: () => 'Merge Request Hook',
    pullRequest: (repo, number, action, headSha, headBranch, baseBranch) => ({
      object_kind: 'merge_request',
      project: { path_with_namespace: repo },
      object_attributes: {
        iid: number,
        action: action === 'opened' ? 'open' : 'update',
        ...(action === 'updated' ? { oldrev: ZERO.replace(/0/g, 'e') } : {}),
        source_branch: headBranch,
        target_branch: baseBranch,
        last_commit: { id: headSha },
        source: { path_with_namespace: repo },
        state: 'opened',
      },
    }),
    commentEvent: 'Note Hook',
    comment: (repo, number, author, body) => ({
      object_kind: 'note',
      user: { username: author },
      project: { path_with_namespace: repo },
      object_attributes: { note: body, noteable_type: 'MergeRequest', system: false, action: 'create' },
      merge_request: { iid: number },
    }),
  },
  bitbucket: {
    forge: 'bitbucket',
    eventHeaders: (event, id = randomUUID()) => ({ 'x-event-key': event, 'x-request-uuid': id, 'user-agent': 'Bitbucket-Webhooks/2.0' }),
    sign: async (body, secret) => ({ 'x-hub-signature': `sha256=${hex256(secret, body)}` }),
    pushEvent: 'repo:push',
    push: (repo, branch, after) => ({
      repository: { full_name: repo },
      push: { changes: [{ new: { name: branch, type: 'branch', target: { hash: after } }, old: null, created: true, closed: false }] },
    }),
    pullRequestEvent: (action) => (action === 'opened' ? 'pullrequest:created' : 'pullrequest:updated'),
    pullRequest: (repo, number, _action, headSha, headBranch, baseBranch) => ({
      repository: { full_name: repo },
      pullrequest: {
        id: number,
        state: 'OPEN',
        source: { branch: { name: headBranch }, commit: { hash: headSha.slice(0, 12) }, repository: { full_name: repo } },
        destination: { branch: { name: baseBranch }, commit: { hash: ZERO.slice(0, 12) } },
        merge_commit: null,
      },
    }),
    commentEvent: 'pullrequest:comment_created',
    // Bitbucket Cloud names people by Atlassian account id.
    comment: (repo, number, author, body) => ({
      repository: { full_name: repo },
      pullrequest: { id: number },
      comment: { content: { raw: body }, user: { account_id: author } },
    }),
  },
  'bitbucket-server': {
    forge: 'bitbucket-server',
    eventHeaders: (event, id = randomUUID()) => ({ 'x-event-key': event, 'x-request-id': id }),
    sign: async (body, secret) => ({ 'x-hub-signature': `sha256=${hex256(secret, body)}` }),
    pushEvent: 'repo:refs_changed',
    push: (repo, branch, after) => {
      const [key, slug] = repo.split('/');
      return {
        eventKey: 'repo:refs_changed',
        repository: { slug, project: { key } },
        changes: [
          { ref: { id: `refs/heads/${branch}`, displayId: branch, type: 'BRANCH' }, refId: `refs/heads/${branch}`, fromHash: ZERO, toHash: after, type: 'ADD' },
        ],
      };
    },
    pullRequestEvent: (action) => (action === 'opened' ? 'pr:opened' : 'pr:from_ref_updated'),
    pullRequest: (repo, number, action, headSha, headBranch, baseBranch) => {
      const [key, slug] = repo.split('/');
      const repository = { slug, project: { key } };
      return {
        eventKey: action === 'opened' ? 'pr:opened' : 'pr:from_ref_updated',
        pullRequest: {
          id: number,
          state: 'OPEN',
          fromRef: { id: `refs/heads/${headBranch}`, displayId: headBranch, latestCommit: headSha, repository },
          toRef: { id: `refs/heads/${baseBranch}`, displayId: baseBranch, latestCommit: ZERO, repository },
        },
      };
    },
    commentEvent: 'pr:comment:added',
    comment: (repo, number, author, body) => {
      const [key, slug] = repo.split('/');
      return {
        eventKey: 'pr:comment:added',
        actor: { name: author },
        pullRequest: { id: number, toRef: { repository: { slug, project: { key } } } },
        comment: { text: body, author: { name: author } },
      };
    },
  },
  gitea: {
    forge: 'gitea',
    eventHeaders: (event, id = randomUUID()) => ({ 'x-gitea-event': event, 'x-gitea-delivery': id }),
    sign: async (body, secret) => ({ 'x-gitea-signature': hex256(secret, body) }),
    pushEvent: 'push',
    push: (repo, branch, after) => ({ ref: `refs/heads/${branch}`, before: ZERO, after, repository: { full_name: repo } }),
    pullRequestEvent: () => 'pull_request',
    pullRequest: (repo, number, action, headSha, headBranch, baseBranch) => ({
      action: action === 'opened' ? 'opened' : 'synchronized',
      number,
      pull_request: { number, merged: false, head: { sha: headSha, ref: headBranch, repo: { full_name: repo } }, base: { ref: baseBranch } },
      repository: { full_name: repo },
    }),
    commentEvent: 'issue_comment',
    comment: (repo, number, author, body) => ({
      action: 'created',
      issue: { number },
      comment: { user: { login: author }, body },
      is_pull: true,
      repository: { full_name: repo },
    }),
  },
};
