import type { IncomingHttpHeaders } from 'node:http';
import type { ForgeConfig, ForgeId } from '../config/schema.js';

export type { ForgeId };

/** The all-zero sha forges send as `before` on a created ref and `after` on a deleted one. */
export const ZERO_SHA = '0000000000000000000000000000000000000000';

/** A ref moved: a push to a branch or a tag, created, updated or deleted. */
export interface PushEvent {
  kind: 'push';
  forge: ForgeId;
  /** The forge's full name of the repository (GitLab: with subgroups; Bitbucket DC: PROJECT/slug). */
  repo: string;
  refType: 'branch' | 'tag';
  /** Branch or tag name, without `refs/heads/` or `refs/tags/`. */
  refName: string;
  before: string;
  after: string;
  created: boolean;
  deleted: boolean;
  deliveryId: string;
}

/**
 * What happened to a pull request, in words common to every forge. `labeled`: its labels changed
 * (added or removed) without new commits; the event's `labels` are the labels it has now.
 */
export type PullRequestAction = 'opened' | 'updated' | 'reopened' | 'closed' | 'merged' | 'labeled';

/** A pull (merge) request was opened, got new commits, was reopened, closed or merged. */
export interface PullRequestEvent {
  kind: 'pull_request';
  forge: ForgeId;
  /** The base (target) repository. */
  repo: string;
  number: number;
  action: PullRequestAction;
  /** Head commit; Bitbucket Cloud sends a 12-character abbreviation, resolved later by the worker. */
  headSha: string;
  headBranch: string;
  /** Full name of the repository the head branch lives in (differs from `repo` for forks); empty if the fork is gone. */
  headRepo: string;
  baseBranch: string;
  merged: boolean;
  mergeCommitSha?: string;
  /** The labels the pull request carries after this event, where the payload says (Bitbucket has no labels). */
  labels?: string[];
  /** Login of who opened the pull request. */
  author?: string;
  deliveryId: string;
}

/** Someone commented on a pull request (previews: a maintainer approving a fork's commit). */
export interface CommentEvent {
  kind: 'comment';
  forge: ForgeId;
  /** The base repository of the pull request. */
  repo: string;
  number: number;
  /** Login of who wrote the comment. */
  author: string;
  body: string;
  deliveryId: string;
}

/** The forge checking that the hook works. */
export interface PingEvent {
  kind: 'ping';
  forge: ForgeId;
  repo?: string;
  deliveryId: string;
}

/** Every event an adapter can produce. Nothing outside `forges/` sees a payload, only these. */
export type ForgeEvent = PushEvent | PullRequestEvent | CommentEvent | PingEvent;

/** Why a verified delivery leads to no job. Stable words: they appear in answers, logs and metrics. */
export type IgnoreReason =
  'ping' | 'unhandled-event' | 'unhandled-action' | 'unknown-repo' | 'untracked-branch' | 'tag' | 'branch-deleted' | 'pr-closed' | 'pr-merged' | 'duplicate';

/** What parsing a verified payload yields: events to act on, or a reason to do nothing. */
export type ParseResult = { events: ForgeEvent[] } | { ignored: IgnoreReason; detail: string };

/** A delivery as received: headers and the raw, unparsed body. */
export interface WebhookInput {
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** Milliseconds since the epoch, for signatures that carry a timestamp. */
  now: number;
}

/** The outcome of checking a delivery's signature or token. */
export type VerifyResult = { ok: true } | { ok: false; reason: string };

/**
 * One forge's webhook front door. Adding a forge means one folder implementing this and one
 * line in the registry; the conformance test then holds it to the same cases as the others.
 */
export interface ForgeAdapter {
  readonly id: ForgeId;
  /** Name for people: "GitHub", "Bitbucket Data Center". */
  readonly displayName: string;
  /** Headers that carry the signature or token, named in 401 answers so a person knows what to fix. */
  readonly signatureHeaders: readonly string[];
  /** The event type the delivery announces, from its headers. */
  eventName(headers: IncomingHttpHeaders): string | undefined;
  /** The forge's id for this delivery (stable across redeliveries where the forge allows). */
  deliveryId(headers: IncomingHttpHeaders): string | undefined;
  /** Checks the signature over the raw bytes, in constant time. Never parses the body. */
  verify(input: WebhookInput, settings: ForgeConfig): VerifyResult;
  /** Turns a verified, JSON-parsed payload into neutral events. Throws {@link PayloadError} when it is malformed. */
  parse(eventName: string, payload: unknown, deliveryId: string): ParseResult;
}

/** A verified payload that does not have the shape its event promises: answered 400. */
export class PayloadError extends Error {
  readonly code = 'PAYLOAD_INVALID';
  constructor(message: string) {
    super(message);
    this.name = 'PayloadError';
  }
}
