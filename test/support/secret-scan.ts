/**
 * Everything a flow's Landfall printed, stored, served and sent, gathered for a secret scan:
 * worker and web logs, every Redis key and value, the dashboard and API pages of every record,
 * what went to the forge (statuses, check runs, comments), and the webhook spool on disk.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import type { Flow } from './flow.js';

interface Teardown {
  teardown(fn: () => unknown): void;
}

/** Where a flow's Landfall may have put something, by name, as text. */
export async function everythingKept(t: Teardown, flow: Pick<Flow, 'web' | 'history' | 'api' | 'logs'>, app = 'web'): Promise<Record<string, string>> {
  const redis = new Redis(flow.web.config.redis.url);
  t.teardown(() => redis.quit());
  const stored: string[] = [];
  for (const key of await redis.keys(`${flow.web.config.redis.prefix}:*`)) {
    const type = await redis.type(key);
    if (type === 'string') stored.push(key, (await redis.get(key)) ?? '');
    else if (type === 'hash') stored.push(key, JSON.stringify(await redis.hgetall(key)));
    else if (type === 'list') stored.push(key, JSON.stringify(await redis.lrange(key, 0, -1)));
    else if (type === 'zset') stored.push(key, JSON.stringify(await redis.zrange(key, '0', '-1')));
    else if (type === 'stream') stored.push(key, JSON.stringify(await redis.xrange(key, '-', '+')));
    else if (type === 'set') stored.push(key, JSON.stringify(await redis.smembers(key)));
  }
  const records = await flow.history.list(app, 50);
  const plans = await flow.history.list(app, 50, 'plan');
  const pages: string[] = [];
  for (const path of [
    '/',
    `/apps/${app}`,
    '/api/apps',
    `/api/apps/${app}`,
    `/api/apps/${app}/syncs`,
    `/api/apps/${app}/syncs?kind=plan`,
    ...[...records, ...plans].flatMap((r) => [`/syncs/${r.id}`, `/api/syncs/${r.id}`]),
  ]) {
    pages.push(await (await fetch(`${flow.web.url}${path}`)).text());
  }
  const spool: string[] = [];
  const spoolDir = flow.web.config.server.spoolDir;
  if (spoolDir) {
    for (const name of await readdir(spoolDir, { recursive: true }).catch(() => [] as string[])) {
      spool.push(await readFile(join(spoolDir, name), 'utf8').catch(() => ''));
    }
  }
  return {
    'worker and web logs': [...flow.logs, ...flow.web.logs].join(''),
    'redis (every key and value)': stored.join('\n'),
    'pages and API answers': pages.join('\n'),
    'statuses, check runs and comments sent to the forge': flow.api.requests.map((r) => JSON.stringify(r.body)).join('\n'),
    'webhook spool': spool.join('\n'),
    'records and plans': JSON.stringify([...records, ...plans]),
  };
}
