import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { FORGE_IDS, type ForgeId } from '../model/forge-ids.js';
import { parseDuration } from './duration.js';
import { NAMESPACE_TEMPLATE_VARIABLES, TEMPLATE_VARIABLES, templateProblems, type TemplateVariable } from './previews.js';

export { FORGE_IDS, type ForgeId };

/** Whether a name from outside (a path, a variable, a stored field) is one of {@link FORGE_IDS}. */
export function isForgeId(name: string): name is ForgeId {
  return FORGE_IDS.some((id) => id === name);
}

const nonEmpty = z.string().min(1, 'must not be empty');

/** Who people sign in with: a forge (access follows the repository) or any OpenID Connect provider (access follows groups). */
export const SIGN_IN_PROVIDERS = ['gitea', 'github', 'gitlab', 'bitbucket', 'oidc'] as const;

/** The scopes asked of an OpenID Connect provider unless `server.auth.signIn.scopes` says otherwise. */
export const OIDC_DEFAULT_SCOPES: readonly string[] = ['openid', 'profile', 'email', 'groups'];

/** The claim that lists a person's groups unless `server.auth.signIn.groupsClaim` says otherwise. */
export const DEFAULT_GROUPS_CLAIM = 'groups';

/**
 * The default of `server.maxInFlightBytes`: 64 MiB. The web role idles near 105 MB and peaks near
 * 125 MB under load with the chart's heap flags; bodies in flight come on top, plus the garbage of
 * bodies already answered until V8 collects it. 64 MiB keeps that under the chart's 256Mi limit
 * with room to spare (measured: test/hardening/flood.test.ts, BENCHMARKS.md).
 */
export const DEFAULT_MAX_IN_FLIGHT_BYTES = 64 * 1024 * 1024;

/**
 * Bodies larger than this may use only {@link LARGE_BODY_SHARE} of `server.maxInFlightBytes`; the
 * rest is kept for ordinary deliveries (a push is a few kilobytes), so a flood of large bodies
 * never crowds them out.
 */
export const LARGE_BODY_BYTES = 1024 * 1024;

/** The share of `server.maxInFlightBytes` that bodies over {@link LARGE_BODY_BYTES} may use together. */
export const LARGE_BODY_SHARE = 0.75;

/**
 * A secret: long enough not to be guessed (and not to be confused with ordinary words when logs
 * are scrubbed of it), without surrounding whitespace (a newline pasted from a file breaks every
 * signature).
 */
const secret = nonEmpty
  .min(8, 'must be at least 8 characters; a short secret can be guessed')
  .refine((s) => s.trim() === s, { message: 'has leading or trailing whitespace (a newline copied from a file?); remove it' });

/** `webhookSecret` accepts one secret or a list, so a secret can be rotated without downtime. */
const secretList = z.union([secret, z.array(secret).min(1, 'must list at least one secret')]).transform((v) => (Array.isArray(v) ? v : [v]));

/** An integer, also accepted as a string of digits (as it arrives from `${VAR}`). */
function intField() {
  return z.union([z.number().int(), z.string().regex(/^\d+$/, { message: 'must be a whole number' }).transform(Number)]);
}

/** A boolean, also accepted as "true"/"false" (as it arrives from `${VAR}`). */
function boolField() {
  return z.union([z.boolean(), z.enum(['true', 'false'], { message: 'must be true or false' }).transform((v) => v === 'true')]);
}

const httpUrl = z
  .string()
  .refine((s) => /^https?:\/\/[^\s/]+/.test(s), { message: 'must be an http(s) URL' })
  .transform((s) => s.replace(/\/+$/, ''));

/**
 * An OpenID Connect issuer: an http(s) URL kept as written, since the provider's metadata must
 * name the same URL (`https://id.example.com/realms/acme/` is not `.../realms/acme`).
 */
const issuerUrl = z.string().refine((s) => /^https?:\/\/[^\s/]+/.test(s) && URL.canParse(s), { message: 'must be an http(s) URL' });

const duration = z.string().transform((text, ctx) => {
  const ms = parseDuration(text);
  if (ms === undefined || ms <= 0) {
    ctx.addIssue({ code: 'custom', message: `"${text}" is not a duration; write it like 90s, 5m or 1h` });
    return z.NEVER;
  }
  return ms;
});

const forgeCommon = {
  webhookSecret: secretList.optional(),
  insecureNoSignature: boolField().default(false),
  token: secret.optional(),
};

const githubForge = z.strictObject({
  ...forgeCommon,
  apiUrl: httpUrl.default('https://api.github.com'),
  /** Authenticate as a GitHub App instead of with a token: statuses, comments, hooks and check runs. */
  app: z
    .strictObject({
      appId: intField().pipe(z.number().min(1, 'must be the App ID GitHub shows on the App page')),
      /** The PEM private key (a `\n` escape stands for a newline, as env files need). */
      privateKey: z
        .string()
        .transform((k) => k.replace(/\\n/g, '\n'))
        .refine((k) => /-----BEGIN (RSA )?PRIVATE KEY-----/.test(k), { message: 'must be a PEM private key (-----BEGIN ... PRIVATE KEY-----)' })
        .optional(),
      privateKeyFile: nonEmpty.optional(),
    })
    .refine((a) => Boolean(a.privateKey) !== Boolean(a.privateKeyFile), { message: 'give exactly one of privateKey and privateKeyFile' })
    .optional(),
});

const gitlabForge = z.strictObject({
  ...forgeCommon,
  signingToken: z
    .union([secret, z.array(secret).min(1)])
    .transform((v) => (Array.isArray(v) ? v : [v]))
    .pipe(
      z.array(
        z.string().regex(/^whsec_[A-Za-z0-9+/]+={0,2}$/, {
          message: 'must be the whsec_... signing token GitLab generated',
        }),
      ),
    )
    .optional(),
  url: httpUrl.default('https://gitlab.com'),
});

const bitbucketForge = z.strictObject({
  ...forgeCommon,
  /** With an Atlassian API token: the account's e-mail, sent with the token as HTTP Basic. */
  username: nonEmpty.optional(),
  apiUrl: httpUrl.default('https://api.bitbucket.org/2.0'),
});

const bitbucketServerForge = z.strictObject({ ...forgeCommon, url: httpUrl });
const giteaForge = z.strictObject({ ...forgeCommon, url: httpUrl });

const forgesSchema = z
  .strictObject({
    github: githubForge.optional(),
    gitlab: gitlabForge.optional(),
    bitbucket: bitbucketForge.optional(),
    'bitbucket-server': bitbucketServerForge.optional(),
    gitea: giteaForge.optional(),
  })
  .prefault({});

const clusterSchema = z
  .strictObject({
    inCluster: z.literal(true, { message: 'must be true, or leave inCluster out and give kubeconfig/context' }).optional(),
    kubeconfig: nonEmpty.optional(),
    context: nonEmpty.optional(),
  })
  .refine((c) => !(c.inCluster && (c.kubeconfig || c.context)), { message: 'inCluster cannot be combined with kubeconfig or context' });

const appName = z
  .string()
  .regex(/^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/, {
    message: 'must be lowercase letters, digits and "-", starting and ending with a letter or digit',
  })
  .max(30, 'must be at most 30 characters');

const k8sName = z
  .string()
  .regex(/^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/, {
    message: 'must be a valid Kubernetes namespace name (lowercase letters, digits and "-")',
  })
  .max(63, 'must be at most 63 characters');

/** A path inside the repository: relative, and never climbing out of it. */
const repoPath = z
  .string()
  .default('.')
  .refine((p) => !p.startsWith('/') && !/^[A-Za-z]:/.test(p), { message: 'must be relative to the repository root' })
  .refine((p) => !p.split(/[\\/]+/).includes('..'), { message: 'must not contain ".." (it would leave the repository)' })
  .transform((p) => p.replace(/^\.\/+/, '').replace(/\/+$/, '') || '.');

const helmSchema = z.strictObject({
  releaseName: k8sName.optional(),
  valuesFiles: z.array(repoPath.pipe(z.string())).default([]),
  values: z.record(z.string(), z.unknown()).default({}),
});

/**
 * Field managers whose fields Landfall takes over when it finds them on an object it applies: the
 * tools people use before GitOps, `kubectl apply` (client-side, and the `before-first-apply` of its
 * server-side upgrade), `kubectl apply --server-side`, `kubectl create` and Helm. Edits (`kubectl
 * edit`, `patch`, `scale`) are not taken over: they are drift, which a forced apply puts right
 * field by field without adopting what else the edit added.
 */
export const DEFAULT_TAKE_OVER_FIELDS_FROM = [
  { manager: 'kubectl-client-side-apply', operation: 'Update' },
  { manager: 'before-first-apply', operation: 'Update' },
  { manager: 'kubectl', operation: 'Apply' },
  { manager: 'kubectl-create', operation: 'Update' },
  { manager: 'helm' },
] as const satisfies readonly { manager: string; operation?: 'Apply' | 'Update' }[];

const foreignManager = z.strictObject({
  manager: nonEmpty,
  /** Only entries of this operation; both when absent. */
  operation: z.enum(['Apply', 'Update'], { message: 'must be Apply or Update (or left out for both)' }).optional(),
});

/** A field of matching objects that Landfall leaves alone (Argo CD's ignoreDifferences, as JSON pointers). */
const ignoreRule = z.strictObject({
  group: z.string().optional(),
  kind: nonEmpty.optional(),
  name: nonEmpty.optional(),
  namespace: nonEmpty.optional(),
  paths: z
    .array(z.string().regex(/^\//, { message: 'must be a JSON pointer such as /spec/replicas' }))
    .min(1, 'name at least one field, as a JSON pointer such as /spec/replicas'),
});

/**
 * Which of the worker's age identities may decrypt an app's SOPS files (in the spirit of Flux's
 * `spec.decryption`): those whose public recipient is listed. Without it, every identity may.
 */
const decryptionSchema = z.strictObject({
  recipients: z.array(z.string().regex(/^age1[0-9a-z]+$/, { message: 'must be an age public recipient (age1...)' })).min(1, 'name at least one age recipient'),
});

/** A Kubernetes quantity (`500m`, `1Gi`, `10`). */
const quantity = z.union([
  z.number().nonnegative(),
  z.string().regex(/^\d+(\.\d+)?(m|k|Ki|M|Mi|G|Gi|T|Ti)?$/, { message: 'must be a Kubernetes quantity such as 500m or 1Gi' }),
]);

/** A preview template (src/config/previews.ts) that may use `allowed`: each problem is an issue at its key. */
function previewTemplate(allowed: readonly TemplateVariable[], text: z.ZodString = nonEmpty) {
  return text.superRefine((template, ctx) => {
    for (const message of templateProblems(template, allowed)) ctx.addIssue({ code: 'custom', message });
  });
}

/**
 * Pull-request previews: each pull request into the app's branch may run in a namespace of its
 * own, reported on the pull request and removed when it closes (README "Previews").
 */
const previewsSchema = z.strictObject({
  /** `label`: pull requests carrying `label`; `all`: every pull request into the app's branch. */
  trigger: z.enum(['label', 'all'], { message: 'must be label or all' }).default('label'),
  label: nonEmpty.default('preview'),
  /**
   * The preview's namespace: `{app}` and `{number}` are replaced, the result made a DNS label
   * (lowercase, other characters become `-`) and cut to 63 characters with a hash of the whole
   * when longer (src/previews/names.ts).
   */
  namespace: previewTemplate(NAMESPACE_TEMPLATE_VARIABLES)
    .default('pv-{app}-{number}')
    .refine((t) => t.includes('{number}'), { message: 'must contain {number}, so each pull request gets its own namespace' }),
  /** Where the preview answers: `{app}`, `{number}`, `{namespace}`, `{sha}`, `{shortSha}` are replaced. */
  url: previewTemplate(TEMPLATE_VARIABLES).optional(),
  /**
   * Strings replaced in the rendered manifests, template variables as in `url`
   * (`{ "web.example.com": "pr-{number}.preview.example.com", "IMAGE_TAG": "{sha}" }`).
   */
  values: z.record(nonEmpty, previewTemplate(TEMPLATE_VARIABLES, z.string())).default({}),
  /** Commit statuses (contexts) the head commit must have succeeded first, such as the job that builds its image. */
  waitFor: z.array(nonEmpty).default([]),
  /** Previews of this app running at once; others wait, and their status says so. */
  maxOpen: intField().pipe(z.number().min(1, 'must be at least 1')).default(5),
  /** A preview with no push for this long is torn down. */
  ttl: duration.default(7 * 24 * 60 * 60_000),
  /** Scale workloads to zero after this long without a push (the next push wakes them); off by default. */
  sleepAfter: duration.optional(),
  /** The ResourceQuota of each preview namespace (`hard`), and the LimitRange's container defaults. */
  quota: z.record(nonEmpty, quantity).default({
    'requests.cpu': '2',
    'requests.memory': '4Gi',
    'limits.cpu': '4',
    'limits.memory': '8Gi',
    pods: 20,
    'services.loadbalancers': 0,
    'services.nodeports': 0,
  }),
  limits: z
    .strictObject({
      defaultRequest: z.record(nonEmpty, quantity).default({ cpu: '50m', memory: '64Mi' }),
      default: z.record(nonEmpty, quantity).default({ cpu: '500m', memory: '512Mi' }),
    })
    .prefault({}),
  /** Namespaces whose pods may reach the preview's pods (the ingress controller's). */
  ingressNamespaces: z.array(k8sName).default(['ingress-nginx']),
  /** A namespace whose Secrets are copied into each same-repository preview (never into a fork's). */
  secretsFrom: k8sName.optional(),
  /** Pull requests from forks get a preview only when a maintainer approves the exact head commit. */
  forks: z.enum(['approve', 'never'], { message: 'must be approve or never' }).default('approve'),
});

const appSchema = z.strictObject({
  name: appName,
  forge: z.enum(FORGE_IDS, { message: `must be one of ${FORGE_IDS.join(', ')}` }),
  repo: z.string().regex(/^[^/\s]+(\/[^/\s]+)+$/, { message: 'must be the full name, like owner/name (GitLab: group/subgroup/project)' }),
  cloneUrl: z
    .string()
    .refine((s) => /^(https?|ssh|git|file):\/\//.test(s) || /^[\w.-]+@[\w.-]+:/.test(s), {
      message: 'must be an https://, ssh://, git://, file:// or scp-style (git@host:path) URL',
    })
    .optional(),
  branch: nonEmpty,
  path: repoPath,
  cluster: nonEmpty.default('default'),
  namespace: k8sName,
  createNamespace: boolField().default(false),
  prune: boolField().default(true),
  allowEmpty: boolField().default(false),
  selfHeal: boolField().default(true),
  allowClusterScoped: boolField().default(false),
  /**
   * How long a sync waits for health. Just over a Deployment's default progress deadline (600 s),
   * so a rollout that stalls ends with the Deployment's own ProgressDeadlineExceeded and reason.
   */
  healthTimeout: duration.default(11 * 60_000),
  /**
   * After this long, pods in a state they will not leave by themselves (a crash loop, an image
   * that cannot be pulled, unschedulable) fail the sync at once, naming the pod and the reason;
   * `off` waits for the deadline.
   */
  failFastAfter: z.union([z.literal('off'), duration], { message: 'write a duration like 30s, or off' }).default(30_000),
  driftInterval: duration.default(3 * 60_000),
  allowedNamespaces: z.array(k8sName).optional(),
  prComments: boolField().default(false),
  helm: helmSchema.optional(),
  decryption: decryptionSchema.optional(),
  previews: previewsSchema.optional(),
  /**
   * When a change touches a field that cannot change (a Deployment's selector, a Job's
   * template), delete the object and create it again, for every object of the app (per object:
   * the annotation `landfall.dev/recreate: "true"`).
   */
  recreate: boolField().default(false),
  /**
   * Fields Landfall leaves alone once an object exists (its live value is kept, never drift); a
   * workload an HPA scales gets `/spec/replicas` without saying so.
   */
  ignoreFields: z.array(ignoreRule).default([]),
  /** Managers whose fields are taken over on adoption and afterwards; `[]` turns it off. */
  takeOverFieldsFrom: z.array(foreignManager).default(DEFAULT_TAKE_OVER_FIELDS_FROM.map((m) => ({ ...m }))),
});

/** A TCP port; 0 lets the system pick one (tests). */
function portField() {
  return intField().pipe(z.number().min(0).max(65535, 'must be a TCP port (0-65535)'));
}

const serverSchema = z
  .strictObject({
    host: nonEmpty.default('0.0.0.0'),
    port: portField().default(8080),
    /**
     * Serve the webhook routes (`/hooks/*`, with `/healthz`) on this port alone and no longer on
     * `port`, so an Ingress can publish webhooks while the dashboard and API stay internal.
     */
    hooksPort: portField().optional(),
    /** Serve `/metrics` on this port (with `/healthz`) and no longer on `port` (web and all roles). */
    metricsPort: portField().optional(),
    publicUrl: httpUrl.default('http://localhost:8080'),
    /** The largest webhook body accepted (GitHub and GitLab send at most 25 MB). */
    maxBodyBytes: intField().pipe(z.number().positive('must be positive')).default(26_214_400),
    /**
     * Webhook body bytes the process holds at once, across every delivery in flight; above it the
     * answer is 503. Sized so the web role's baseline plus this fits the chart's 256Mi limit.
     */
    maxInFlightBytes: intField().pipe(z.number().positive('must be positive')).default(DEFAULT_MAX_IN_FLIGHT_BYTES),
    /** How long a client may take to send a request's headers. */
    headersTimeout: duration.default(10_000),
    /** How long a client may take to send a whole request, headers and body. */
    requestTimeout: duration.default(30_000),
    /** A connection with no traffic for this long is closed (between requests too: keep-alive). */
    idleTimeout: duration.default(65_000),
    /** Connections open at once; further ones are closed as they arrive. */
    maxConnections: intField().pipe(z.number().min(1, 'must be at least 1')).default(1_000),
    apiTokens: z.array(secret).default([]),
    /** Who may see and do what: anonymous read, scoped API tokens, sign-in through the forge (see SECURITY.md). */
    auth: z
      .strictObject({
        /**
         * Whether anyone may read the dashboard, sync pages, JSON API and `/metrics` on `port`
         * without signing in. Default: `read` when `host` is a loopback address, `none` otherwise.
         */
        anonymous: z.enum(['none', 'read'], { message: 'must be none or read' }).optional(),
        /** API tokens limited to some apps (all when absent) and to reading or also syncing. */
        tokens: z
          .array(
            z.strictObject({
              token: secret,
              apps: z.array(nonEmpty).min(1).optional(),
              access: z.enum(['read', 'write'], { message: 'must be read or write' }).default('read'),
            }),
          )
          .default([]),
        /** How long the forge's answer to "may this person read (write) this repository" is reused. */
        accessCacheTtl: duration.default(60_000),
        /**
         * Sign-in through a forge's OAuth 2, or any OpenID Connect provider (`provider: oidc`); the
         * callback is `<publicUrl>/auth/callback` for both.
         */
        signIn: z
          .strictObject({
            provider: z.enum(SIGN_IN_PROVIDERS, { message: `must be ${SIGN_IN_PROVIDERS.slice(0, -1).join(', ')} or ${SIGN_IN_PROVIDERS.at(-1)}` }),
            clientId: nonEmpty,
            clientSecret: secret,
            /** Where people sign in; by default the forge's web root (from `forges.<provider>`, or the public service). Forge providers only. */
            url: httpUrl.optional(),
            /**
             * `provider: oidc`: the issuer identifier, as the provider names itself (its
             * metadata is read from `<issuer>/.well-known/openid-configuration`).
             */
            issuer: issuerUrl.optional(),
            /** `provider: oidc`: the scopes asked for (default {@link OIDC_DEFAULT_SCOPES}); must include `openid`. */
            scopes: z.array(nonEmpty).min(1, 'must list at least openid').optional(),
            /** `provider: oidc`: the claim (of the ID token, else of userinfo) that lists the person's groups (default `groups`). */
            groupsClaim: nonEmpty.optional(),
            /** Signs session cookies: at least 32 characters. */
            sessionSecret: secret.min(32, 'must be at least 32 characters'),
            /** A session ends this long after sign-in. */
            sessionTtl: duration.default(8 * 60 * 60_000),
          })
          .superRefine((signIn, ctx) => {
            if (signIn.provider === 'oidc') {
              if (!signIn.issuer) {
                ctx.addIssue({
                  code: 'custom',
                  path: ['issuer'],
                  message:
                    "required with provider: oidc: the provider's issuer URL, e.g. https://gitea.example.com or https://keycloak.example.com/realms/acme",
                });
              }
              if (signIn.url) ctx.addIssue({ code: 'custom', path: ['url'], message: 'is for forge sign-in; with provider: oidc set issuer instead' });
              if (signIn.scopes && !signIn.scopes.includes('openid')) {
                ctx.addIssue({ code: 'custom', path: ['scopes'], message: 'must include openid (without it there is no ID token)' });
              }
              return;
            }
            for (const key of ['issuer', 'scopes', 'groupsClaim'] as const) {
              if (signIn[key] !== undefined) {
                ctx.addIssue({
                  code: 'custom',
                  path: [key],
                  message: `is for provider: oidc only; with provider: ${signIn.provider} remove it (the forge's scopes are fixed, and access follows the repository)`,
                });
              }
            }
          })
          .optional(),
        /**
         * With `signIn.provider: oidc`: which groups (as the provider's groups claim names them) may
         * read, or also sync, which apps (all when `apps` is absent). A person in no listed group
         * sees no app.
         */
        groups: z
          .array(
            z.strictObject({
              group: nonEmpty,
              apps: z.array(nonEmpty).min(1).optional(),
              access: z.enum(['read', 'write'], { message: 'must be read or write' }).default('read'),
            }),
          )
          .default([]),
      })
      .superRefine((auth, ctx) => {
        if (auth.groups.length > 0 && auth.signIn?.provider !== 'oidc') {
          ctx.addIssue({
            code: 'custom',
            path: ['groups'],
            message: auth.signIn
              ? `maps OpenID Connect groups, but signIn.provider is ${auth.signIn.provider} (access follows the repository there); set signIn.provider: oidc, or remove groups`
              : 'maps OpenID Connect groups, but sign-in is not configured; set signIn with provider: oidc, or remove groups',
          });
        }
      })
      .prefault({}),
    /** Whether holders of an API token may retry, promote and remove jobs on the queue board (read-only otherwise). */
    queueBoardWritable: boolField().default(false),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    /** Where accepted deliveries wait (fsynced) while Redis is unreachable. */
    spoolDir: nonEmpty.default(join(tmpdir(), 'landfall-spool')),
    /** Behind a reverse proxy: how many proxy hops' X-Forwarded-For to trust for the source address. */
    trustProxy: intField().pipe(z.number().min(0).max(10)).default(0),
    /** Webhook rate limits per forge and source address. */
    rateLimit: z
      .strictObject({
        perSecond: intField().pipe(z.number().min(1)).default(500),
        burst: intField().pipe(z.number().min(1)).default(1_000),
        failuresPerMinute: intField().pipe(z.number().min(1)).default(60),
      })
      .prefault({}),
  })
  .superRefine((server, ctx) => {
    const needed = Math.ceil(server.maxBodyBytes / LARGE_BODY_SHARE);
    if (server.maxInFlightBytes < needed) {
      ctx.addIssue({
        code: 'custom',
        path: ['maxInFlightBytes'],
        message: `must be at least ${needed} (maxBodyBytes / ${LARGE_BODY_SHARE}: large bodies may use ${LARGE_BODY_SHARE * 100}% of it), or a body of the largest accepted size could never be taken`,
      });
    }
    // Node refuses a header timeout longer than the whole request's.
    if (server.headersTimeout > server.requestTimeout) {
      ctx.addIssue({ code: 'custom', path: ['headersTimeout'], message: 'must not be longer than requestTimeout (the headers are part of the request)' });
    }
    for (const key of ['hooksPort', 'metricsPort'] as const) {
      const value = server[key];
      if (value !== undefined && value !== 0 && (value === server.port || (key === 'metricsPort' && value === server.hooksPort))) {
        ctx.addIssue({ code: 'custom', path: [key], message: 'must differ from the other ports of server (each is a listener of its own)' });
      }
    }
  });

const hostPort = z.strictObject({ host: nonEmpty, port: intField().pipe(z.number().min(1).max(65535)) });

const redisSchema = z.strictObject({
  url: z
    .string()
    .regex(/^rediss?:\/\//, { message: 'must be a redis:// or rediss:// URL' })
    .default('redis://127.0.0.1:6379'),
  prefix: z
    .string()
    .regex(/^(\{[A-Za-z0-9_.-]+\}|[A-Za-z0-9_.-]+)$/, { message: 'must be letters, digits, "_", "." or "-" (or one {hash-tag} for Redis Cluster)' })
    .default('landfall'),
  /** Redis Sentinel: the sentinels and the master group's name. */
  sentinels: z.array(hostPort).min(1).optional(),
  name: nonEmpty.optional(),
  sentinelPassword: secret.optional(),
  /** Redis Cluster: seed nodes. */
  cluster: z.array(hostPort).min(1).optional(),
  password: secret.optional(),
  username: nonEmpty.optional(),
  tls: boolField().optional(),
});

const workerSchema = z.strictObject({
  /**
   * Where a `--role worker` process answers `/healthz`, `/readyz` and `/metrics`: a port of its
   * own, so a web and a worker process with the same configuration can run on one host.
   */
  probePort: portField().default(8081),
  concurrency: intField().pipe(z.number().min(1, 'must be at least 1').max(64, 'must be at most 64')).default(4),
  dataDir: nonEmpty.default(join(tmpdir(), 'landfall')),
  gitTimeout: duration.default(2 * 60_000),
  renderTimeout: duration.default(2 * 60_000),
  maxObjects: intField().pipe(z.number().min(1, 'must be at least 1')).default(5_000),
  maxManifestBytes: intField()
    .pipe(z.number().min(1, 'must be positive'))
    .default(50 * 1024 * 1024),
  lockTimeout: duration.default(30_000),
  applyConcurrency: intField().pipe(z.number().min(1, 'must be at least 1').max(64, 'must be at most 64')).default(8),
  git: nonEmpty.default('git'),
  kubectl: nonEmpty.optional(),
  kustomize: nonEmpty.optional(),
  helm: nonEmpty.optional(),
  /** Bound on each Kubernetes API request (retried when it times out). */
  kubeTimeout: duration.default(30_000),
  /** Attempts of a sync that fails transiently (API down, network), with exponential backoff from `retryBackoff`. */
  attempts: intField().pipe(z.number().min(1).max(50)).default(8),
  retryBackoff: duration.default(5_000),
  /**
   * How often workers check every repository's webhook and ask GitHub and GitLab to redeliver
   * failed deliveries (also once at start); `off` disables it.
   */
  webhookCheckInterval: z.union([z.literal('off'), duration], { message: 'write a duration like 10m, or off' }).default(10 * 60_000),
  /** How often open pull requests are compared with live previews (apps with `previews:` only). */
  previewSweepInterval: duration.default(5 * 60_000),
});

/** Events a notification can be sent for. */
export const NOTIFICATION_EVENTS = ['sync-failed', 'drift-found', 'drift-healed'] as const;

const notificationsSchema = z.strictObject({
  /** A generic JSON webhook: POSTed `{event, app, ...}`, signed with `secret` when given. */
  webhook: z.strictObject({ url: httpUrl, secret: secret.optional() }).optional(),
  /** A Slack-compatible incoming webhook (Slack, Mattermost, Rocket.Chat): POSTed `{text}`. */
  slack: z.strictObject({ url: httpUrl }).optional(),
  /** Which events to send; all by default. */
  events: z.array(z.enum(NOTIFICATION_EVENTS, { message: `must be one of ${NOTIFICATION_EVENTS.join(', ')}` })).default([...NOTIFICATION_EVENTS]),
});

/** The whole configuration file. Unknown keys anywhere are errors. */
export const configSchema = z
  .strictObject({
    server: serverSchema.prefault({}),
    redis: redisSchema.prefault({}),
    worker: workerSchema.prefault({}),
    notifications: notificationsSchema.prefault({}),
    forges: forgesSchema,
    clusters: z.record(nonEmpty, clusterSchema).default({ default: {} }),
    apps: z.array(appSchema).default([]),
  })
  .transform((config) => ({
    ...config,
    apps: config.apps.map((app) => ({
      ...app,
      allowedNamespaces: app.allowedNamespaces ?? [app.namespace],
    })),
  }));

/** The configuration after validation and defaults. */
export type Config = z.output<typeof configSchema>;
/** One entry of `apps`. */
export type AppConfig = Config['apps'][number];
/** The settings of one forge section, whichever forge it is. */
export type ForgeConfig = NonNullable<Config['forges'][ForgeId]>;

/** Every property name a JSON Schema (and the schemas inside it) declares. */
function propertyNames(node: unknown, into = new Set<string>()): Set<string> {
  if (Array.isArray(node)) {
    for (const item of node) propertyNames(item, into);
  } else if (node !== null && typeof node === 'object') {
    for (const [key, value] of Object.entries(node)) {
      const child: unknown = value;
      if (key === 'properties' && child !== null && typeof child === 'object') for (const name of Object.keys(child)) into.add(name);
      // Descend everywhere: properties, items, unions, $defs. Values such as `enum` hold no objects with `properties`.
      propertyNames(value, into);
    }
  }
  return into;
}

/** Every key the schema knows, for "did you mean" hints on unknown keys; derived from the schema itself. */
export const KNOWN_KEYS: ReadonlySet<string> = propertyNames(z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' }));

/** An app's `previews:` block, defaults applied. */
export type PreviewsConfig = NonNullable<AppConfig['previews']>;
