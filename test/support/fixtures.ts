import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/** `../shared/fixtures/webhooks`, beside the repository on every dev and CI machine. */
export const FIXTURES_DIR = fileURLToPath(new URL('../../../shared/fixtures/webhooks/', import.meta.url));

/** The raw bytes of a shared fixture, exactly as captured (never re-serialised). */
export function fixture(path: string): Buffer {
  return readFileSync(`${FIXTURES_DIR}${path}`);
}

interface ExampleEvent {
  name: string;
  examples: Record<string, any>[];
}

/** GitHub's official example payloads from @octokit/webhooks-examples, by event name. */
export function githubExamples(event: string): Record<string, any>[] {
  const require = createRequire(import.meta.url);
  const all = require('@octokit/webhooks-examples') as ExampleEvent[];
  return all.find((e) => e.name === event)?.examples ?? [];
}
