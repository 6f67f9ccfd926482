import { createHmac, randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

interface PushExample {
  ref: string;
  after: string;
  before: string;
  commits: Record<string, unknown>[];
  head_commit: Record<string, unknown> | null;
  repository: Record<string, unknown> & { full_name: string; name: string; owner: Record<string, unknown> };
  [key: string]: unknown;
}

/** A signed GitHub push delivery, ready to send many times with different delivery ids. */
export interface SignedPush {
  body: string;
  bytes: number;
  sha: string;
  commits: number;
  headers: Record<string, string>;
}

/** A random 40-hex commit id. */
export function randomSha(): string {
  return randomBytes(20).toString('hex');
}

/**
 * GitHub's own `push` example (@octokit/webhooks-examples, the branch push with a commit), made
 * to name `repo` and `branch`, with commits added until the body is about `targetBytes`: a real
 * payload shape of a realistic size, not a minimal body that flatters JSON parsing.
 */
export function githubPushBody(repo: string, branch: string, after: string, targetBytes = 10_240): { body: string; commits: number } {
  const definitions = require('@octokit/webhooks-examples') as { name: string; examples: PushExample[] }[];
  const example = definitions.find((d) => d.name === 'push')?.examples.find((e) => e.ref.startsWith('refs/heads/') && e.commits.length > 0);
  if (!example) throw new Error('@octokit/webhooks-examples has no branch push example with commits');
  const [owner, name] = repo.split('/') as [string, string];
  const payload: PushExample = structuredClone(example);
  payload.ref = `refs/heads/${branch}`;
  payload.after = after;
  payload.repository = { ...payload.repository, full_name: repo, name, owner: { ...payload.repository.owner, login: owner, name: owner } };
  const template = example.commits[0] as Record<string, unknown>;
  const commits: Record<string, unknown>[] = [];
  const make = (i: number, id: string) => ({
    ...template,
    id,
    tree_id: randomSha(),
    message: `Update deploy/web.yaml (change ${i} of the release)`,
    timestamp: new Date(Date.UTC(2024, 0, 1, 0, i)).toISOString(),
  });
  let body: string;
  for (let i = 0; ; i++) {
    commits.push(make(i, i === 0 ? after : randomSha()));
    payload.commits = [...commits].reverse();
    payload.head_commit = payload.commits[0] as Record<string, unknown>;
    body = JSON.stringify(payload);
    if (body.length >= targetBytes - 300 || i > 200) break;
  }
  return { body, commits: commits.length };
}

/** The `X-Hub-Signature-256` GitHub sends for `body` under `secret`. */
export function githubSignature(body: string, secret: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/**
 * A ~10 KB signed push for autocannon: the delivery id header is autocannon's `[<id>]`
 * placeholder, replaced with a fresh id on every request (`idReplacement`), so no delivery is a
 * duplicate of another.
 */
export function signedPush(repo: string, branch: string, secret: string, targetBytes = 10_240): SignedPush {
  const sha = randomSha();
  const { body, commits } = githubPushBody(repo, branch, sha, targetBytes);
  return {
    body,
    bytes: Buffer.byteLength(body),
    sha,
    commits,
    headers: {
      'content-type': 'application/json',
      'user-agent': 'GitHub-Hookshot/bench',
      'x-github-event': 'push',
      'x-github-delivery': '[<id>]',
      'x-github-hook-id': '1',
      'x-hub-signature-256': githubSignature(body, secret),
    },
  };
}
