// Which claim holds an env's home directory (what a backup of the env snapshots besides its volumes): the pod
// template's `home` volume when it is a claim of Hangar's (storage_type pvc / ceph). A StatefulSet's claim template
// (storage_type local) or a volume mounted at /home has none: the volume is backed up as itself.
import type { V1PodTemplateSpec } from '@kubernetes/client-node';
import type { EnvDataCapability } from '../../contract';
import { parseRef } from './api';
import type { K8sClient } from './client';
import { readWorkload } from './workloads';

type WithTemplate = {
  spec?: { template?: V1PodTemplateSpec; jobTemplate?: { spec?: { template?: V1PodTemplateSpec } } };
};

export function k8sEnvData(c: K8sClient): EnvDataCapability {
  return {
    async home(ref) {
      const w = (await readWorkload(c, parseRef(ref))) as WithTemplate | undefined;
      const tmpl = w?.spec?.template ?? w?.spec?.jobTemplate?.spec?.template;
      const claim = tmpl?.spec?.volumes?.find((v) => v.name === 'home')?.persistentVolumeClaim?.claimName;
      return claim ? { name: claim, path: '/home' } : undefined;
    },
  };
}
