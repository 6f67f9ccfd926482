/**
 * The grammar of an app's `previews:` block: its templates (`namespace`, `url`, the values of
 * `values`) and the name a preview goes by. It lives beside the schema, as durations do: the
 * loader refuses a bad template, or an app name a preview would take, at start-up, with the same
 * rules src/previews/ uses at run time.
 *
 * A variable is `{name}`, a name being letters, digits and `_` starting with a letter. Any other
 * brace is literal text (`{"a": 1}` in a value stays as written), so there is no escape to learn.
 */

/** Every variable a preview template may use. */
export const TEMPLATE_VARIABLES = ['app', 'number', 'namespace', 'sha', 'shortSha'] as const;

/** One of {@link TEMPLATE_VARIABLES}. */
export type TemplateVariable = (typeof TEMPLATE_VARIABLES)[number];

/**
 * What `previews.namespace` may use: the namespace is fixed for the life of a pull request, so it
 * cannot depend on a commit (`{sha}`), nor on itself (`{namespace}`).
 */
export const NAMESPACE_TEMPLATE_VARIABLES = ['app', 'number'] as const satisfies readonly TemplateVariable[];

/** The values a template is expanded with; a variable without a value here cannot be used. */
export type TemplateVars = Partial<Record<TemplateVariable, string>>;

const VARIABLE = /\{([A-Za-z][A-Za-z0-9_]*)\}/g;

/** Thrown by {@link expandTemplate}: a variable unknown, or not available where the template is used. */
export class TemplateError extends Error {
  readonly code = 'TEMPLATE_INVALID';
  constructor(
    readonly template: string,
    readonly problems: string[],
  ) {
    super(`template "${template}": ${problems.join('; ')}`);
    this.name = 'TemplateError';
  }
}

function isVariable(name: string): name is TemplateVariable {
  return TEMPLATE_VARIABLES.some((v) => v === name);
}

function list(names: readonly string[]): string {
  return names.map((n) => `{${n}}`).join(', ');
}

/**
 * What is wrong with a template that may use `allowed`: each unknown variable (with the known one
 * it was probably meant to be, when only its case differs) and each known one not allowed here.
 * Empty when the template is fine. The config loader reports these with the key's path.
 */
export function templateProblems(template: string, allowed: readonly TemplateVariable[]): string[] {
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const match of template.matchAll(VARIABLE)) {
    const name = match[1] ?? '';
    if (seen.has(name)) continue;
    seen.add(name);
    if (!isVariable(name)) {
      const meant = TEMPLATE_VARIABLES.find((v) => v.toLowerCase() === name.toLowerCase());
      problems.push(`{${name}} is not a variable${meant ? ` (did you mean {${meant}}?)` : ''}; use ${list(allowed)}`);
    } else if (!allowed.includes(name)) {
      problems.push(`{${name}} cannot be used here; use ${list(allowed)}`);
    }
  }
  return problems;
}

/**
 * Replaces each `{variable}` of `template` by its value in `vars`. Throws {@link TemplateError},
 * listing every problem, when the template names a variable that does not exist or has no value
 * in `vars` (so a template can never reach a manifest or a forge with `{sha}` left in it).
 */
export function expandTemplate(template: string, vars: TemplateVars): string {
  const available = TEMPLATE_VARIABLES.filter((v) => vars[v] !== undefined);
  const problems = templateProblems(template, available);
  if (problems.length > 0) throw new TemplateError(template, problems);
  return template.replace(VARIABLE, (_, name: string) => (isVariable(name) ? (vars[name] ?? '') : ''));
}

const PREVIEW_NAME = /^([a-z0-9](?:[a-z0-9-]*[a-z0-9])?)-pr-([1-9][0-9]*)$/;

/**
 * The name the preview of app `app` for pull request `number` goes by in records, inventories and
 * forge environments: `<app>-pr-<number>`, a DNS label (app names are labels of at most 30
 * characters). It cannot be another app's name: the loader refuses an app named like a preview of
 * an app with previews (see {@link previewOf}).
 */
export function previewName(app: string, number: number): string {
  return `${app}-pr-${number}`;
}

/** The app and pull request a name would be the preview of, when it has the form {@link previewName} gives. */
export function previewOf(name: string): { app: string; number: number } | undefined {
  const match = PREVIEW_NAME.exec(name);
  return match?.[1] && match[2] ? { app: match[1], number: Number(match[2]) } : undefined;
}
