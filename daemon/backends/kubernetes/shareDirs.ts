// Directories Hangar makes on NFS shares for the login user, on Kubernetes: the in-tree nfs volume does not apply
// fsGroup, so a sub-path the kubelet mounts would be missing (or root's). An init container of the env's image runs
// as root with only CHOWN/DAC_OVERRIDE/FOWNER, mounts the share's base (share-N-base) and runs the shared script
// before the env's container mounts the sub-path itself.
import type { V1Container, V1Volume } from '@kubernetes/client-node';
import type { EnvSpec } from '../../contract';
import { makeDirsScript } from '../shared/shareDirs';
import { PULL_POLICY } from './conventions';

const BASE = '/hangar-share-base';

/** The init containers and the base volumes they mount (none when no share has directories to make). */
export function shareDirsInit(spec: EnvSpec): { initContainers?: V1Container[]; volumes: V1Volume[] } {
  const initContainers: V1Container[] = [];
  const volumes: V1Volume[] = [];
  for (const [i, m] of spec.mounts.entries()) {
    const make = m.type === 'nfs' && m.nfs?.kind === 'nfs' ? m.nfs.make : undefined;
    if (!make) continue;
    volumes.push({ name: `share-${i}-base`, nfs: { server: m.nfs!.server, path: make.base, readOnly: false } });
    initContainers.push({
      name: `share-dirs-${i}`,
      image: spec.image,
      imagePullPolicy: PULL_POLICY[spec.pullPolicy],
      command: ['/bin/sh', '-c', makeDirsScript(BASE, make)],
      securityContext: {
        runAsUser: 0,
        runAsGroup: 0,
        privileged: false,
        allowPrivilegeEscalation: false,
        capabilities: { drop: ['ALL'], add: ['CHOWN', 'DAC_OVERRIDE', 'FOWNER'] },
        seccompProfile: { type: 'RuntimeDefault' },
      },
      volumeMounts: [{ name: `share-${i}-base`, mountPath: BASE }],
    });
  }
  return { initContainers: initContainers.length ? initContainers : undefined, volumes };
}
