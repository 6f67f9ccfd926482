import { homedir } from 'node:os';
import { KubeConfig } from '@kubernetes/client-node';

/** A `clusters.<name>` entry of the configuration. */
export interface ClusterSettings {
  inCluster?: true | undefined;
  kubeconfig?: string | undefined;
  context?: string | undefined;
}

/**
 * Loads credentials for a cluster: in-cluster service account, a kubeconfig file (`~` expanded),
 * or, with neither, what kubectl would use ($KUBECONFIG, ~/.kube/config). A named context must exist.
 */
export function loadKubeConfig(settings: ClusterSettings): KubeConfig {
  const kc = new KubeConfig();
  if (settings.inCluster) {
    kc.loadFromCluster();
    return kc;
  }
  if (settings.kubeconfig) kc.loadFromFile(settings.kubeconfig.replace(/^~(?=$|\/)/, homedir()));
  else kc.loadFromDefault();
  if (settings.context) {
    if (!kc.getContexts().some((c) => c.name === settings.context)) {
      throw new Error(
        `context "${settings.context}" not found in the kubeconfig (have: ${
          kc
            .getContexts()
            .map((c) => c.name)
            .join(', ') || 'none'
        })`,
      );
    }
    kc.setCurrentContext(settings.context);
  }
  return kc;
}
