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
  },
  gitlab: {
    forge: 'gitlab',
    eventHeaders: (event, id = randomUUID()) => ({ 'x-gitlab-event': event, 'idempotency-key': id, 'user-agent': 'GitLab/17.5.0' }),
    // Both of GitLab's mechanisms: the secret token, and a signature made with a signing token
    // derived from the same secret (see gitlabSigningToken), so a body change is detectable.
    sign: async (body, secret, now) => ({ 'x-gitlab-token': secret, ...gitlabSignatureHeaders(body, gitlabSigningToken(secret), now) }),
    pushEvent: 'Push Hook',
    push: (repo, branch, after) => ({ object_kind: 'push', ref: `refs/heads/${branch}`, before: ZERO, after, checkout_sha: after, project: { path_with_namespace: repo } }),
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
        changes: [{ ref: { id: `refs/heads/${branch}`, displayId: branch, type: 'BRANCH' }, refId: `refs/heads/${branch}`, fromHash: ZERO, toHash: after, type: 'ADD' }],
      };
    },
  },
  gitea: {
    forge: 'gitea',
    eventHeaders: (event, id = randomUUID()) => ({ 'x-gitea-event': event, 'x-gitea-delivery': id }),
    sign: async (body, secret) => ({ 'x-gitea-signature': hex256(secret, body) }),
    pushEvent: 'push',
    push: (repo, branch, after) => ({ ref: `refs/heads/${branch}`, before: ZERO, after, repository: { full_name: repo } }),
  },
};
