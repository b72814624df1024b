// cloud-init NoCloud seed for a VM (https://cloudinit.readthedocs.io/en/latest/reference/datasources/nocloud.html):
// the same boot files a container gets (init script, sshd config with the env's own host key, authorized keys,
// Jupyter token) written by cloud-init, and a systemd unit that runs the init script in place of the image's sshd.
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import YAML from 'yaml';
import { AGENT_PATH, AGENT_VERSION_PATH, type BootFile } from '../../contract';
import { datasetsCloudInit, type GuestDataset } from './guestDatasets';
import { sharesCloudInit, type GuestShare } from './guestShares';

const run = promisify(execFile);

export const INIT_UNIT = 'hangar-init.service';

function unit(command: string[]): string {
  return [
    '[Unit]',
    'Description=Hangar environment (login user, sshd with the environment host key, Jupyter)',
    // remote-fs.target: the shares are mounted (or given up on: nofail) before the user can log in.
    'After=network.target cloud-init.service remote-fs.target',
    '',
    '[Service]',
    `ExecStart=${command.join(' ')}`,
    'Restart=always',
    'RestartSec=2',
    // The env's log is the serial console: what the init script and its SSH server print shows there too.
    'StandardOutput=journal+console',
    'StandardError=journal+console',
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ].join('\n');
}

/** A data disk (a named volume) seen in the guest by its virtio serial; made ext4 when blank, mounted every boot. */
export interface DataDisk {
  serial: string;
  target: string;
  readOnly: boolean;
}

function mountScript(disks: DataDisk[]): string {
  const q = (x: string) => `'${x.replace(/'/g, `'\\''`)}'`;
  return disks
    .map((d) => {
      const dev = `/dev/disk/by-id/virtio-${d.serial}`;
      return [
        `d=${q(dev)}; for _ in 1 2 3 4 5 6 7 8 9 10; do [ -b "$d" ] && break; sleep 1; done`,
        d.readOnly ? '' : `blkid "$d" >/dev/null 2>&1 || mkfs.ext4 -q -L ${q(d.serial.slice(0, 16))} "$d"`,
        `mkdir -p ${q(d.target)}; mountpoint -q ${q(d.target)} || mount ${d.readOnly ? '-o ro ' : ''}"$d" ${q(d.target)}`,
        // A disk grown while the VM was off (PATCH /volumes): the file system follows, online.
        d.readOnly ? '' : `resize2fs "$d" >/dev/null 2>&1 || true`,
      ]
        .filter(Boolean)
        .join('; ');
    })
    .join('\n');
}

/** hangar-agent rides on the seed ISO as a file of its own (base64 in user-data would make cloud-init parse megabytes
 *  of YAML, slow under TCG); every boot copies it from the seed before the env's unit starts, unless the same
 *  version is there. */
export const AGENT_SEED_FILE = 'hangar-agent';
const AGENT_COPY = [
  'set -e',
  `if [ "$(cat ${AGENT_VERSION_PATH} 2>/dev/null)" != "$(cat /run/hangar-seed/${AGENT_SEED_FILE}.version 2>/dev/null)" ] || [ ! -s /run/hangar-seed/${AGENT_SEED_FILE}.version ]; then`,
  `  mkdir -p /run/hangar-seed ${AGENT_PATH.replace(/\/[^/]+$/, '')}`,
  '  mountpoint -q /run/hangar-seed || mount -o ro /dev/disk/by-label/cidata /run/hangar-seed',
  `  cp /run/hangar-seed/${AGENT_SEED_FILE} ${AGENT_PATH}.tmp && chmod 0755 ${AGENT_PATH}.tmp && mv ${AGENT_PATH}.tmp ${AGENT_PATH}`,
  `  cp /run/hangar-seed/${AGENT_SEED_FILE}.version ${AGENT_VERSION_PATH}`,
  '  umount /run/hangar-seed || true',
  'fi',
].join('\n');

export function userData(o: {
  hostname: string;
  files: BootFile[];
  command: string[];
  disks?: DataDisk[];
  shares?: GuestShare[];
  datasets?: GuestDataset[];
  agent?: boolean;
}): string {
  const shares = sharesCloudInit(o.shares ?? []);
  const datasets = datasetsCloudInit(o.datasets ?? []);
  const config = {
    hostname: o.hostname,
    preserve_hostname: false,
    // The env's sshd uses the host key the gateway generated and pins: the image must not answer with keys of its
    // own, so its host keys are removed and none are generated.
    ssh_deletekeys: true,
    ssh_genkeytypes: [],
    disable_root: true,
    ssh_pwauth: false,
    users: [],
    // Every boot, before the env's unit starts: data disks formatted when new and mounted where the env asked.
    ...(o.disks?.length || o.agent
      ? {
          bootcmd: [
            ...(o.disks?.length ? [['sh', '-c', mountScript(o.disks)]] : []),
            ...(o.agent ? [['sh', '-c', AGENT_COPY]] : []),
          ],
        }
      : {}),
    write_files: [
      ...o.files.map((f) => ({
        path: f.path,
        encoding: 'b64',
        permissions: '0' + f.mode.toString(8),
        owner: 'root:root',
        content: Buffer.from(f.content).toString('base64'),
      })),
      { path: `/etc/systemd/system/${INIT_UNIT}`, permissions: '0644', content: unit(o.command) },
      ...shares.files,
      ...datasets.files,
    ],
    runcmd: [
      'systemctl disable --now ssh.service ssh.socket sshd.service 2>/dev/null || true',
      ...shares.runcmd,
      ...datasets.runcmd,
      ['systemctl', 'daemon-reload'],
      ['systemctl', 'enable', '--now', INIT_UNIT],
    ],
  };
  return '#cloud-config\n' + YAML.stringify(config, { lineWidth: 0 });
}

export function metaData(o: { instanceId: string; hostname: string }): string {
  return YAML.stringify({ 'instance-id': o.instanceId, 'local-hostname': o.hostname });
}

/** Builds the seed (an ISO 9660 image labelled "cidata", made with genisoimage) on the gateway, wrapped in qcow2 so that
 *  every disk of the VM is qcow2 and internal snapshots (which need that) work. Returns its path in a temp dir. */
export async function buildSeedIso(o: {
  instanceId: string;
  hostname: string;
  files: BootFile[];
  command: string[];
  disks?: DataDisk[];
  shares?: GuestShare[];
  /** Datasets the guest mounts with s3fs (their scoped keys go into user-data, on the seed only). */
  datasets?: GuestDataset[];
  /** hangar-agent and its version, put on the ISO beside user-data (see AGENT_SEED_FILE). */
  agent?: { binary: Buffer; version: string };
}): Promise<{ file: string; cleanup: () => Promise<void> }> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'hangar-seed-'));
  const cleanup = () => fs.rm(dir, { recursive: true, force: true });
  try {
    const src = path.join(dir, 'src');
    await fs.mkdir(src, { mode: 0o700 });
    await fs.writeFile(path.join(src, 'user-data'), userData({ ...o, agent: Boolean(o.agent) }), { mode: 0o600 });
    const extra: string[] = [];
    if (o.agent) {
      await fs.writeFile(path.join(src, AGENT_SEED_FILE), o.agent.binary, { mode: 0o755 });
      await fs.writeFile(path.join(src, `${AGENT_SEED_FILE}.version`), o.agent.version + '\n', { mode: 0o644 });
      extra.push(path.join(src, AGENT_SEED_FILE), path.join(src, `${AGENT_SEED_FILE}.version`));
    }
    await fs.writeFile(path.join(src, 'meta-data'), metaData(o), { mode: 0o600 });
    const file = path.join(dir, 'seed.iso');
    await run('genisoimage', [
      '-quiet',
      '-output',
      file,
      '-volid',
      'cidata',
      '-joliet',
      '-rock',
      path.join(src, 'user-data'),
      path.join(src, 'meta-data'),
      ...extra,
    ]);
    const qcow2 = path.join(dir, 'seed.qcow2');
    await run('qemu-img', ['convert', '-q', '-f', 'raw', '-O', 'qcow2', file, qcow2]);
    await fs.rm(src, { recursive: true });
    return { file: qcow2, cleanup };
  } catch (err) {
    await cleanup();
    throw err;
  }
}
