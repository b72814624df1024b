// Data disks made and removed on purpose (POST/DELETE /volumes): qcow2 volumes in the pool named after the volume's
// id (hangar-vol-<id>.qcow2), the same files a VM's first mount of a new volume makes. Resize grows the file with
// libvirt's vol-resize (qemu-img resize) while no QEMU has it open; the guest grows its ext4 at the next boot.
import type { VolumesCapability } from '../../contract';
import { ConflictError, NotFoundError } from '../../errors';
import type { LibvirtHost } from './host';
import { VirshError } from './virsh';

/** QEMU holds an image it runs with a write lock; libvirt and qemu-img say so in these words. */
const IN_USE = /lock|in use|being used/i;

export function libvirtVolumes(host: LibvirtHost): VolumesCapability {
  const file = (name: string) => `${name}.qcow2`;
  return {
    async create(name, _labels, sizeGb) {
      if ((await host.volumes()).includes(file(name))) return;
      await host.virsh.act([
        'vol-create-as',
        host.o.pool,
        file(name),
        `${sizeGb ?? host.o.data_disk_gb}G`,
        '--format',
        'qcow2',
      ]);
    },
    async remove(name) {
      await host.virsh.refreshPool(host.o.pool);
      await host.virsh.run(['vol-delete', '--pool', host.o.pool, file(name)]).catch((err) => {
        if (err instanceof NotFoundError) return;
        if (err instanceof VirshError && IN_USE.test(err.message))
          throw new ConflictError(`data disk ${file(name)} is in use by a VM: ${err.message}`);
        throw err;
      });
    },
    async resize(name, sizeGb) {
      await host.virsh.refreshPool(host.o.pool);
      await host.virsh.run(['vol-resize', '--pool', host.o.pool, file(name), `${sizeGb}G`]).catch((err) => {
        if (err instanceof VirshError && IN_USE.test(err.message))
          throw new ConflictError(`data disk ${file(name)} is in use by a running VM: ${err.message}`);
        throw err;
      });
    },
  };
}
