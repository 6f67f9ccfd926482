import { formatDuration } from '../config/duration.js';
import type { ChangeEntry } from '../model/changes.js';

/** The status context (GitHub, Gitea), name (GitLab) or key (Bitbucket) of an app. */
export function statusContext(app: string, kind: 'deploy' | 'plan'): string {
  return kind === 'plan' ? `landfall/${app}/plan` : `landfall/${app}`;
}

/** `abc1234`. */
export function short(sha: string): string {
  return sha.slice(0, 7);
}

/** `3 configured, 1 pruned` — what changed; unchanged objects are not news. */
export function changeSummary(changes: ChangeEntry[]): string {
  const count = (action: string) => changes.filter((c) => c.action === action).length;
  const parts = (
    [
      [count('created'), 'created'],
      [count('configured'), 'configured'],
      [count('recreated'), 'recreated'],
      [count('deleted'), 'pruned'],
      [count('failed'), 'failed'],
    ] satisfies [number, string][]
  )
    .filter(([n]) => n > 0)
    .map(([n, word]) => `${n} ${word}`);
  return parts.length > 0 ? parts.join(', ') : 'no changes';
}

/** `Deployed abc1234 to default/guestbook: 3 configured, 1 pruned, healthy in 14s`. */
export function deployedDescription(sha: string, cluster: string, namespace: string, changes: ChangeEntry[], durationMs: number): string {
  return `Deployed ${short(sha)} to ${cluster}/${namespace}: ${changeSummary(changes)}, healthy in ${formatDuration(durationMs)}`;
}

/**
 * The reason of a failure in a few words a person can act on: the object and its condition
 * (`Deployment guestbook/web ProgressDeadlineExceeded`), or the first problem of a list.
 */
export function failureReason(message: string): string {
  const lines = message.split('\n').filter(Boolean);
  // "2 invalid objects:" is a heading; the first problem is the news.
  const first = /^\d+ invalid objects?:$/.test(lines[0] ?? '') ? (lines[1] ?? lines[0] ?? '') : (lines[0] ?? '');
  // Kind/namespace/name → "Kind namespace/name", as people write it.
  const named = first.replace(/^([A-Z][A-Za-z0-9]*)\/(\S+)/, '$1 $2');
  // "Deployment x/y ProgressDeadlineExceeded: long controller message" → keep the condition, and
  // the pod when a pod's state failed it ("Deployment x/y pod y-5d7f-abc CrashLoopBackOff").
  const condition = /^([A-Z][A-Za-z0-9]* \S+ (?:pod \S+ )?[A-Z][A-Za-z]+): /.exec(named);
  return condition?.[1] ?? named;
}

/** `Plan: 2 to create, 1 to change, 1 to prune`. */
export function planSummary(changes: ChangeEntry[]): string {
  const count = (action: string) => changes.filter((c) => c.action === action).length;
  const parts = (
    [
      [count('created'), 'to create'],
      [count('configured'), 'to change'],
      [count('recreated'), 'to recreate'],
      [count('deleted'), 'to prune'],
    ] satisfies [number, string][]
  )
    .filter(([n]) => n > 0)
    .map(([n, word]) => `${n} ${word}`);
  const unchanged = count('unchanged');
  return parts.length > 0 ? `${parts.join(', ')}${unchanged ? `, ${unchanged} unchanged` : ''}` : `no changes (${unchanged} unchanged)`;
}
