// An app with previews, as the config loader makes it, for the tests of src/previews/.
import { parseConfig } from '../../src/config/load.js';
import type { AppConfig } from '../../src/config/schema.js';

/** App `name` in namespace `namespace` with `previews:` set to the YAML flow mapping `previews`. */
export function previewApp(previews = '{}', name = 'shop', namespace = 'shop'): AppConfig {
  const config = parseConfig(
    `forges: { github: { webhookSecret: test-webhook-secret } }\napps:\n  - { name: ${name}, forge: github, repo: acme/${name}, branch: main, namespace: ${namespace}, previews: ${previews} }\n`,
    {},
  );
  return config.apps[0]!;
}
