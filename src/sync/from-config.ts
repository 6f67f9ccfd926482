import type { Config } from '../config/schema.js';
import { createKubeClient, type KubeClient } from '../kube/client.js';
import { loadKubeConfig } from '../kube/config.js';
import { keyringFromEnv } from '../decrypt/keys.js';
import { decryptRoot } from '../decrypt/workdir.js';
import { createGit } from './checkout.js';
import type { PrepareDeps } from './prepare.js';
import { findTools } from './tools.js';

/** What preparing a commit needs, made from the configuration, and how to let go of it. */
export interface SyncKit extends PrepareDeps {
  /** Closes the Kubernetes clients made so far. */
  close(): Promise<void>;
}

/**
 * Git, the renderers, their limits, the age identities and one Kubernetes client per configured cluster (made on
 * first use), as the worker role and `landfall plan` both need them.
 */
export function syncKitFromConfig(config: Config, options: { kubeClient?: (cluster: string) => Promise<KubeClient> } = {}): SyncKit {
  const clients = new Map<string, Promise<KubeClient>>();
  const kube =
    options.kubeClient ??
    ((cluster: string) => {
      let client = clients.get(cluster);
      if (!client) {
        const settings = config.clusters[cluster];
        if (!settings) return Promise.reject(new Error(`cluster "${cluster}" is not configured`));
        client = Promise.resolve().then(() => createKubeClient(loadKubeConfig(settings), { timeoutMs: config.worker.kubeTimeout }));
        client.catch(() => clients.delete(cluster));
        clients.set(cluster, client);
      }
      return client;
    });
  return {
    git: createGit({ dataDir: config.worker.dataDir, timeoutMs: config.worker.gitTimeout, git: config.worker.git }),
    tools: findTools(config.worker),
    limits: { maxObjects: config.worker.maxObjects, maxBytes: config.worker.maxManifestBytes, timeoutMs: config.worker.renderTimeout },
    forges: config.forges,
    kube,
    applyConcurrency: config.worker.applyConcurrency,
    // age identities from LANDFALL_AGE_KEY / LANDFALL_AGE_KEY_FILE: a broken key stops the start.
    decryption: { keys: keyringFromEnv(), workRoot: decryptRoot() },
    async close() {
      for (const client of clients.values()) (await client.catch(() => undefined))?.close();
    },
  };
}
