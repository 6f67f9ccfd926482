#!/usr/bin/env node
import { Command, InvalidArgumentError, Option } from 'commander';
import { ConfigError, loadConfig, resolveConfigPath } from './config/load.js';
import type { Config } from './config/schema.js';
import { createLogger } from './log/logger.js';
import { configSecrets } from './log/redact.js';
import type { Role } from './runtime/serve.js';
import { anonymousRead, isLoopback } from './http/access.js';

/** Builds the `landfall` command line. Exported so tests can run it in-process. */
export function buildCli(): Command {
  const program = new Command('landfall').description('Push-triggered GitOps deployment server: merging a pull request deploys it.').showHelpAfterError();
  const configOption = () => new Option('-c, --config <file>', 'configuration file (default: $LANDFALL_CONFIG, else ./landfall.yaml)');

  program
    .command('serve')
    .description('run Landfall: the webhook server and/or the sync workers')
    .addOption(configOption())
    .addOption(new Option('--role <role>', 'what this process runs').choices(['all', 'web', 'worker']).default('all'))
    .action(async (options: { config?: string; role: Role }) => {
      const config = await loadOrExit(options.config);
      const log = createLogger({ level: config.server.logLevel, secrets: configSecrets(config) });
      // Loaded on demand: check-config and friends should not pay for the Kubernetes client.
      const { serve } = await import('./runtime/serve.js');
      await serve(config, log, options.role);
    });

  program
    .command('check-config')
    .description('validate the configuration and print the apps; exits 1 listing every problem')
    .addOption(configOption())
    .action(async (options: { config?: string }) => {
      const config = await loadOrExit(options.config);
      const identities = await describeIdentities(config).catch((err: unknown) => {
        process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
        process.exit(1);
      });
      process.stdout.write(describeConfig(config).replace(/configuration OK\n$/, `${identities}configuration OK\n`));
    });

  program
    .command('sync')
    .description("queue a sync of an app's branch head")
    .argument('<app>', 'app name', (value) => {
      if (!/^[a-z0-9-]+$/.test(value)) throw new InvalidArgumentError('app names are lowercase letters, digits and "-"');
      return value;
    })
    .addOption(configOption())
    .action(async (app: string, options: { config?: string }) => {
      const config = await loadOrExit(options.config);
      const { queueManualSync } = await import('./cli/sync.js');
      const jobId = await queueManualSync(config, app);
      process.stdout.write(`queued sync of ${app} (job ${jobId})\n`);
    });

  program
    .command('plan')
    .description(
      "print the plan a pull request would get (render, validate, server-side dry-run, diff, prune) for the app's branch head or --ref; exits 1 when it would not deploy",
    )
    .argument('<app>', 'app name', (value) => {
      if (!/^[a-z0-9-]+$/.test(value)) throw new InvalidArgumentError('app names are lowercase letters, digits and "-"');
      return value;
    })
    .option('--ref <ref>', "a branch, tag or full commit hash of the app's repository (default: its branch)")
    .addOption(configOption())
    .action(async (app: string, options: { config?: string; ref?: string }) => {
      const config = await loadOrExit(options.config);
      const { runPlanCommand } = await import('./cli/plan.js');
      const { text, code } = await runPlanCommand(config, app, options.ref);
      process.stdout.write(text);
      process.exitCode = code;
    });

  const appNames = (value: string, previous: string[] = []) => {
    if (!/^[a-z0-9-]+$/.test(value)) throw new InvalidArgumentError('app names are lowercase letters, digits and "-"');
    return [...previous, value];
  };
  const webhooks = program.command('webhooks').description("create, update and check the forge webhooks of the apps' repositories");
  webhooks
    .command('sync')
    .description(
      "create or update each repository's webhook: URL server.publicUrl/hooks/<forge>, the configured secret, JSON, exactly the events Landfall handles",
    )
    .argument('[app...]', 'apps whose repositories to set up (default: all)')
    .addOption(configOption())
    .option('--dry-run', 'print what would change, change nothing')
    .option('--force', 'set the secret again even where the hook looks right (forges do not show secrets back)')
    .action(async (apps: string[], options: { config?: string; dryRun?: boolean; force?: boolean }) => {
      for (const name of apps) appNames(name);
      const config = await loadOrExit(options.config);
      const { runWebhooksSync } = await import('./cli/webhooks.js');
      const { text, code } = await runWebhooksSync(config, apps, { dryRun: options.dryRun === true, force: options.force === true });
      process.stdout.write(text);
      process.exitCode = code;
    });
  webhooks
    .command('check')
    .description("report whether each repository's webhook exists, is active, is right, and whether recent deliveries failed; exits 1 when anything is wrong")
    .argument('[app...]', 'apps whose repositories to check (default: all)')
    .addOption(configOption())
    .action(async (apps: string[], options: { config?: string }) => {
      for (const name of apps) appNames(name);
      const config = await loadOrExit(options.config);
      const { runWebhooksCheck } = await import('./cli/webhooks.js');
      const { text, code } = await runWebhooksCheck(config, apps);
      process.stdout.write(text);
      process.exitCode = code;
    });

  return program;
}

async function loadOrExit(flag: string | undefined): Promise<Config> {
  const file = resolveConfigPath(flag);
  try {
    // ./landfall.yaml may be absent when LANDFALL_* variables carry the whole configuration.
    return await loadConfig(file, process.env, { optional: flag === undefined && process.env.LANDFALL_CONFIG === undefined });
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
}

/** The summary `check-config` prints: each forge and each app on one line. */
export function describeConfig(config: Config): string {
  const lines: string[] = [];
  const forges = Object.entries(config.forges).filter(([, f]) => f);
  lines.push(
    `forges: ${forges.map(([id, f]) => (f?.webhookSecret || (f && 'signingToken' in f && f.signingToken) ? id : `${id} (UNSIGNED)`)).join(', ') || 'none'}`,
  );
  lines.push(`clusters: ${Object.keys(config.clusters).join(', ')}`);
  lines.push(`apps (${config.apps.length}):`);
  for (const app of config.apps) {
    lines.push(
      `  ${app.name}: ${app.forge} ${app.repo}@${app.branch} ${app.path} -> ${app.cluster}/${app.namespace}` +
        ` (prune ${app.prune ? 'on' : 'off'}, selfHeal ${app.selfHeal ? 'on' : 'off'})`,
    );
  }
  // The dashboard shows commits, errors and logs of every deploy: say so when anyone may read it.
  if (anonymousRead(config) && !isLoopback(config.server.host)) {
    lines.push(
      `warning: server.auth.anonymous is read and server.host is ${config.server.host}: anyone who reaches port ${config.server.port} can read the dashboard, sync pages, API and /metrics. Remove server.auth.anonymous, or listen on loopback only (SECURITY.md).`,
    );
  }
  const signIn = config.server.auth.signIn;
  if (signIn?.provider === 'oidc') {
    if (config.server.auth.groups.length === 0) {
      lines.push(
        'warning: server.auth.signIn.provider is oidc but server.auth.groups maps no group: people can sign in and see no app. Map their groups to apps (README: Sign-in with OpenID Connect).',
      );
    }
    const issuer = signIn.issuer ? new URL(signIn.issuer) : undefined;
    if (issuer?.protocol === 'http:' && !isLoopback(issuer.hostname.replace(/^\[|\]$/g, ''))) {
      lines.push(
        `warning: server.auth.signIn.issuer is ${signIn.issuer}: the code exchange, the ID token and the provider's signing keys travel unencrypted. Use the provider's https:// issuer.`,
      );
    }
  }
  return `${lines.join('\n')}\nconfiguration OK\n`;
}

/**
 * The age identities `check-config` reports: their public recipients, never the private part,
 * and which recipients an app's `decryption` names that no identity matches.
 */
export async function describeIdentities(config: Config, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const { keyringFromEnv } = await import('./decrypt/keys.js');
  const recipients = await keyringFromEnv(env).recipients();
  const lines = [
    recipients.length === 0
      ? 'age identities: none (SOPS-encrypted files fail to render; set LANDFALL_AGE_KEY or LANDFALL_AGE_KEY_FILE)'
      : `age identities (${recipients.length}): ${recipients.join(', ')}`,
  ];
  for (const app of config.apps) {
    const unknown = (app.decryption?.recipients ?? []).filter((r) => !recipients.includes(r));
    if (unknown.length > 0) lines.push(`  ${app.name}: decryption.recipients without a loaded identity: ${unknown.join(', ')}`);
  }
  return `${lines.join('\n')}\n`;
}

const isEntryPoint = import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('/landfall');
if (isEntryPoint) {
  buildCli()
    .parseAsync(process.argv)
    .catch((err: unknown) => {
      process.stderr.write(`landfall: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    });
}
