// libvirt test fixtures: the daemon configuration for this machine's libvirtd, and a complete DomainSpec for rendering
// tests (override what a test is about).
import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type { ImportTemplateRequest } from '../../common/schemas';
import type { DomainSpec } from '../../daemon/backends/libvirt/domainXml';

export function domainSpec(over: Partial<DomainSpec> = {}): DomainSpec {
  return {
    name: 'hangar-00000000-0000-4000-8000-000000000001',
    title: 'train <&> "x"',
    virtType: 'qemu',
    vcpus: 2,
    memoryMb: 1024,
    pool: 'hangar',
    disk: 'd.qcow2',
    seed: 's.qcow2',
    dataDisks: [],
    boot: { kind: 'direct-kernel', kernel: '/p/k', initrd: '/p/i', cmdline: 'root=/dev/vda console=ttyS0' },
    network: 'user',
    restrictNetwork: true,
    forwardAddress: '127.0.0.1',
    consoleLog: '/p/c.log',
    graphics: null,
    pciHostdevs: [],
    mdevHostdevs: [],
    meta: {
      envId: '00000000-0000-4000-8000-000000000001',
      envName: 'train',
      owner: 'u1',
      gateway: 'gw',
      backend: 'kvm',
      template: 'debian',
      forwards: [
        { guest: 22, host: 22001 },
        { guest: 8888, host: 22002 },
      ],
      vncPort: null,
      mdevs: [],
    },
    ...over,
  };
}

export const POOL = process.env.HANGAR_LIBVIRT_POOL ?? 'hangar-test';
/** Where test/setup/start-libvirtd.sh puts that pool. */
export const POOL_DIR = process.env.HANGAR_LIBVIRT_POOL_DIR ?? '/var/lib/hangar-test/pool';

export const LIBVIRT_CONFIG = `
# The VM lane runs beside the other tests (test/run.sh): host ports of their own, never the defaults others take.
vnc_port_range: { from: 16900, to: 16999 }
rdp_port_range: { from: 14389, to: 14488 }
backends:
  - id: kvm
    kind: libvirt
    uri: qemu:///system
    pool: ${POOL}
    virt_type: qemu          # /dev/kvm exists here but KVM guests hang (nested): TCG
    restrict_network: true   # tests never let a guest reach anything beyond this machine
    forward_port_range: { from: 22100, to: 22199 }
    default_vcpus: 1
    default_memory_mb: 768
    boot_timeout_s: 600
    shutdown_timeout_s: 90
`;

/** Imports the test VM template (test/setup/build-vm-image.sh: Debian 12, cloud-init, direct kernel) as `name`. */
export async function importTestTemplate(
  admin: { importTemplate(backend: string, req: ImportTemplateRequest): Promise<unknown> },
  backendId: string,
  name: string,
): Promise<void> {
  const dir = execFileSync('bash', ['test/setup/build-vm-image.sh', 'path'], { encoding: 'utf8' }).trim();
  const meta = JSON.parse(fs.readFileSync(path.join(dir, 'template.json'), 'utf8'));
  await admin.importTemplate(backendId, {
    name,
    os: 'debian-12',
    cloud_init: true,
    firmware: 'direct-kernel',
    default_user: 'debian',
    cmdline: meta.cmdline,
    disk: { file: path.join(dir, 'disk.qcow2') },
    kernel: { file: path.join(dir, meta.kernel) },
    initrd: { file: path.join(dir, meta.initrd) },
  });
}

/** qemu-io on a data disk of the test pool by its backend name (QEMU's own block layer: what a guest would see). */
export const qemuIo = async (name: string, cmd: string) =>
  (await promisify(execFile)('qemu-io', ['-f', 'qcow2', '-c', cmd, path.join(POOL_DIR, `${name}.qcow2`)])).stdout;

/** True when the disk holds `byte` over the first MiB (qemu-io -P verifies the pattern; a mismatch exits 1). */
export async function holds(name: string, byte: number): Promise<boolean> {
  try {
    return !/verification failed/i.test(await qemuIo(name, `read -P ${byte} 0 1M`));
  } catch (err) {
    if (/verification failed/i.test(String((err as { stdout?: string }).stdout) + String(err))) return false;
    throw err;
  }
}
