// Directories Hangar makes on NFS shares for the login user, on a Docker host: before the env's container is made,
// a short-lived container of the env's image (root, CHOWN/DAC_OVERRIDE/FOWNER only) mounts the share's base through
// a local-driver NFS volume (hangar-share-<env>-<n>-base, removed with the env's share volumes) and runs the shared
// script. The engine's host kernel does the mount: where it has no NFS client the start fails with its message.
import type Dockerode from 'dockerode';
import { LABELS, type EnvSpec } from '../../contract';
import { UnprocessableError } from '../../errors';
import { makeDirsScript } from '../shared/shareDirs';
import { dockerMessage, statusCode } from './engineFormats';
import { nfsMount, shareVolumeName } from './hostconfig';

const BASE = '/hangar-share-base';
export const helperName = (envId: string, i: number) => `hangar-sharedirs-${envId}-${i}`;

/** The helper container's options for mount `i` (pure: tests inspect them). */
export function shareDirsOptions(spec: EnvSpec, i: number, gatewayId: string): Dockerode.ContainerCreateOptions {
  const m = spec.mounts[i];
  const make = m.nfs!.make!;
  const mount = nfsMount(spec.envId, i, { ...m, read_only: false, nfs: { ...m.nfs!, path: make.base } }, gatewayId);
  return {
    name: helperName(spec.envId, i),
    Image: spec.image,
    User: '0:0',
    Entrypoint: ['/bin/sh', '-c', makeDirsScript(BASE, make)],
    Cmd: [],
    Labels: { [LABELS.gateway]: gatewayId, 'dev.hangar.share-dirs-of': spec.envId },
    HostConfig: {
      Mounts: [{ ...mount, Source: `${shareVolumeName(spec.envId, i)}-base`, Target: BASE }],
      NetworkMode: 'none',
      Privileged: false,
      SecurityOpt: ['no-new-privileges:true'],
      CapDrop: ['ALL'],
      CapAdd: ['CHOWN', 'DAC_OVERRIDE', 'FOWNER'],
    },
  };
}

/** Runs the helper for every share mount that has directories to make; fails with the engine's or script's words. */
export async function makeShareDirs(docker: Dockerode, spec: EnvSpec, gatewayId: string): Promise<void> {
  for (const [i, m] of spec.mounts.entries()) {
    if (m.type !== 'nfs' || !m.nfs?.make || m.nfs.kind !== 'nfs') continue;
    const name = helperName(spec.envId, i);
    await docker
      .getContainer(name)
      .remove({ force: true })
      .catch(() => undefined);
    const c = await docker.createContainer(shareDirsOptions(spec, i, gatewayId));
    try {
      await c.start().catch((err) => {
        throw new UnprocessableError(`share '${m.source}': ${dockerMessage(err)}`);
      });
      const { StatusCode } = (await c.wait()) as { StatusCode: number };
      if (StatusCode !== 0) {
        const out = (await c.logs({ stdout: true, stderr: true })).toString().trim();
        throw new UnprocessableError(`share '${m.source}': making its directories failed: ${out.slice(-500)}`);
      }
    } finally {
      await c.remove({ force: true }).catch((err) => {
        if (statusCode(err) !== 404) throw err;
      });
    }
  }
}
