// Datasets in a VM, mounted by the guest itself with rclone mount (FUSE is the guest kernel's own: nothing of the
// host's is lent). Not s3fs: Debian 12's s3fs (1.90) checks the bucket's root listing at mount, which a key scoped to
// a prefix is refused; rclone lists under the prefix only. cloud-init writes each dataset's rclone config with the
// scoped key (root-only, 0600) and a oneshot unit, ordered before the env's unit, that mounts them at every boot
// (--read-only for read-only mounts, files the login user's). The guest reaches the store itself: a store on the
// libvirt host's loopback is QEMU's host alias 10.0.2.2 on user-mode networking; restrict_network leaves the guest
// nothing to reach, so it is refused, naming it.
import { UnprocessableError } from '../../errors';
import { LOGIN_GID, LOGIN_UID, type DatasetSource, type SpecMount } from '../../contract';
import { shq } from '../shared/streams';

export interface GuestDataset extends DatasetSource {
  target: string;
  readOnly: boolean;
}

export const DATASETS_UNIT = 'hangar-datasets.service';
const SCRIPT = '/var/lib/hangar/datasets.sh';
const KEYS = '/etc/hangar/datasets';
const SLIRP_HOST = '10.0.2.2';
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** The spec's dataset mounts as a VM on this network mounts them. */
export function guestDatasets(
  mounts: SpecMount[],
  net: { backendId: string; network: string; restrict: boolean },
): GuestDataset[] {
  const ds = mounts.filter((m) => m.type === 'dataset');
  if (ds.length && net.network === 'user' && net.restrict)
    throw new UnprocessableError(
      `storage_config.mounts: datasets can't be reached from a VM on backend '${net.backendId}': restrict_network keeps its guests from opening any connection (use a libvirt network, or restrict_network: false)`,
    );
  return ds.map((m) => {
    const src = m.dataset!;
    const url = new URL(src.endpoint);
    if (net.network === 'user' && LOOPBACK.has(url.hostname)) url.hostname = SLIRP_HOST;
    return { ...src, endpoint: url.origin, target: m.target, readOnly: Boolean(m.read_only) };
  });
}

/** rclone's config of one dataset's remote "ds": the guest-side endpoint and the scoped key (a root-only file).
 *  no_check_bucket: a key scoped to a prefix may not create or probe the bucket. */
export function rcloneConfig(d: GuestDataset): string {
  const values = {
    type: 's3',
    provider: 'Other',
    endpoint: d.endpoint,
    region: d.region,
    force_path_style: String(d.pathStyle),
    no_check_bucket: 'true',
    access_key_id: d.accessKeyId,
    secret_access_key: d.secretAccessKey,
  };
  const bad = Object.entries(values).find(([, v]) => /[\r\n]/.test(v));
  if (bad) throw new UnprocessableError(`dataset mount of ${d.target}: the store's ${bad[0]} has a line break`);
  return ['[ds]', ...Object.entries(values).map(([k, v]) => `${k} = ${v}`), ''].join('\n');
}

/** Every boot, before the env's unit: each dataset mounted where the env asked (a failed one is reported on the
 *  console and the others still mount). Read-write mounts cache written files locally and upload them after close
 *  (rclone's --vfs-cache-mode writes: random writes work; a write reaches the bucket seconds after its close). */
export function datasetsScript(ds: GuestDataset[]): string {
  const lines = ['#!/bin/sh', '# Managed by Hangar.', 'set -u', 'rc=0'];
  for (const [i, d] of ds.entries()) {
    const args = [
      'mount',
      `ds:${d.bucket}/${d.prefix}`,
      d.target,
      `--config=${KEYS}/${i}.conf`,
      '--daemon',
      '--allow-other',
      `--uid=${LOGIN_UID}`,
      `--gid=${LOGIN_GID}`,
      '--umask=022',
      '--dir-cache-time=30s',
      `--log-file=/var/log/hangar-dataset-${i}.log`,
      ...(d.readOnly ? ['--read-only'] : ['--vfs-cache-mode=writes']),
    ];
    const t = shq(d.target);
    // A few tries: the store may not answer yet this early in the boot.
    lines.push(
      `mkdir -p ${t}`,
      `for _ in 1 2 3 4 5; do mountpoint -q ${t} && break; rclone ${args.map(shq).join(' ')} && break; sleep 3; done`,
      `mountpoint -q ${t} || { echo "hangar: dataset ${i} did not mount" >&2; rc=1; }`,
    );
  }
  lines.push('exit $rc');
  return lines.join('\n') + '\n';
}

export function datasetsUnit(): string {
  return [
    '[Unit]',
    'Description=Hangar: datasets (rclone mounts of the env’s buckets/prefixes)',
    'Wants=network-online.target',
    'After=network-online.target',
    'Before=hangar-init.service',
    '',
    '[Service]',
    'Type=oneshot',
    'RemainAfterExit=yes',
    `ExecStart=/bin/sh ${SCRIPT}`,
    'StandardOutput=journal+console',
    'StandardError=journal+console',
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ].join('\n');
}

/** cloud-init pieces: the key files (root's, 0600), the script and the unit; the first boot starts the unit. */
export function datasetsCloudInit(ds: GuestDataset[]): {
  files: { path: string; content: string; permissions: string }[];
  runcmd: string[][];
} {
  if (!ds.length) return { files: [], runcmd: [] };
  return {
    files: [
      ...ds.map((d, i) => ({
        path: `${KEYS}/${i}.conf`,
        content: rcloneConfig(d),
        permissions: '0600',
      })),
      { path: SCRIPT, content: datasetsScript(ds), permissions: '0700' },
      { path: `/etc/systemd/system/${DATASETS_UNIT}`, content: datasetsUnit(), permissions: '0644' },
    ],
    runcmd: [
      ['systemctl', 'daemon-reload'],
      ['systemctl', 'enable', '--now', DATASETS_UNIT],
    ],
  };
}
