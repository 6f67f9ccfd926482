import type { Config } from '../config/schema.js';

/** Replaces every known secret value in a text with `[REDACTED]`. */
export type Scrubber = (text: string) => string;

/**
 * Builds a scrubber for a fixed set of secret values. Each value is matched as written and as it
 * appears inside a JSON string (quotes and backslashes escaped), because logs are JSON lines.
 */
export function createScrubber(secrets: Iterable<string>): Scrubber {
  const forms = new Set<string>();
  for (const secret of secrets) {
    if (!secret) continue;
    forms.add(secret);
    forms.add(JSON.stringify(secret).slice(1, -1));
    forms.add(encodeURIComponent(secret));
  }
  if (forms.size === 0) return (text) => text;
  const pattern = new RegExp(
    [...forms]
      .sort((a, b) => b.length - a.length)
      .map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
      .join('|'),
    'g',
  );
  return (text) => (text.length === 0 ? text : text.replace(pattern, '[REDACTED]'));
}

/** Every secret a configuration holds: webhook secrets, signing tokens, API tokens, forge tokens, Redis passwords. */
export function configSecrets(config: Config): string[] {
  const out: string[] = [...config.server.apiTokens, ...config.server.auth.tokens.map((t) => t.token)];
  const signIn = config.server.auth.signIn;
  if (signIn) out.push(signIn.clientSecret, signIn.sessionSecret);
  for (const forge of Object.values(config.forges)) {
    if (!forge) continue;
    out.push(...(forge.webhookSecret ?? []));
    if (forge.token) out.push(forge.token);
    if ('signingToken' in forge && forge.signingToken) out.push(...forge.signingToken);
    if ('app' in forge && forge.app?.privateKey) out.push(forge.app.privateKey);
  }
  const password = redisPassword(config.redis.url);
  if (password) out.push(password);
  if (config.redis.password) out.push(config.redis.password);
  if (config.redis.sentinelPassword) out.push(config.redis.sentinelPassword);
  if (config.notifications.webhook?.secret) out.push(config.notifications.webhook.secret);
  return out;
}

function redisPassword(url: string): string | undefined {
  try {
    const parsed = new URL(url);
    return parsed.password ? decodeURIComponent(parsed.password) : undefined;
  } catch {
    return undefined;
  }
}
