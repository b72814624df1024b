// Named volumes on a Docker engine, made and removed on purpose (POST/DELETE /volumes). The local driver has no
// size: a size asked for is kept in the store only; resize is not offered.
import type Dockerode from 'dockerode';
import { LABELS, type EnvSpec, type VolumesCapability } from '../../contract';
import { ConflictError } from '../../errors';
import { dockerMessage, statusCode } from './engineFormats';

export function dockerVolumes(
  docker: () => Dockerode,
  call: <T>(fn: () => Promise<T>) => Promise<T>,
): VolumesCapability {
  return {
    async create(name, labels) {
      await call(() => docker().createVolume({ Name: name, Driver: 'local', Labels: labels }));
    },
    async remove(name) {
      await call(() => docker().getVolume(name).remove()).catch((err) => {
        if (statusCode(err) === 404) return;
        if (statusCode(err) === 409) throw new ConflictError(`volume ${name} is in use: ${dockerMessage(err)}`);
        throw err;
      });
    },
  };
}

/** The named volumes an env mounts, made on first use and kept after the env (like any named volume); the name
 *  comes from the volume's id. */
export async function createMountedVolumes(docker: Dockerode, spec: EnvSpec, gatewayId: string): Promise<void> {
  for (const m of spec.mounts) {
    if (m.type !== 'volume') continue;
    await docker.createVolume({
      Name: m.source,
      Labels: { [LABELS.managed]: 'true', [LABELS.gateway]: gatewayId, [LABELS.owner]: spec.owner },
    });
  }
}

/** The local-driver volumes an env's share mounts became (they hold no data: the data is on the export). */
export async function removeShareVolumes(docker: Dockerode, gatewayId: string, envId: string): Promise<void> {
  const filters = { label: [`${LABELS.gateway}=${gatewayId}`, `${LABELS.envId}=${envId}`] };
  const { Volumes } = await docker.listVolumes({ filters });
  for (const v of Volumes ?? [])
    if (v.Name.startsWith(`hangar-share-${envId}-`))
      await docker
        .getVolume(v.Name)
        .remove()
        .catch(() => undefined);
}
