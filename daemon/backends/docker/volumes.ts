// Named volumes on a Docker engine, made and removed on purpose (POST/DELETE /volumes). The local driver has no
// size: a size asked for is kept in the store only; resize is not offered.
import type Dockerode from 'dockerode';
import type { VolumesCapability } from '../../contract';
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
