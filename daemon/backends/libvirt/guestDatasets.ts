// Datasets in a VM, mounted by the guest itself with s3fs (FUSE is the guest kernel's own: nothing of the host's is
// lent). cloud-init writes each dataset's scoped key to a root-only 0600 passwd file and a oneshot unit, ordered
// before the env's unit, that mounts them at every boot (read-only with -o ro, files the login user's). The guest
// reaches the store itself: a store on the libvirt host's loopback is QEMU's host alias 10.0.2.2 on user-mode
// networking; restrict_network leaves the guest nothing to reach, so it is refused, naming it.
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

/** Every boot, before the env's unit: each dataset mounted where the env asked (a failed one is reported on the
 *  console and the others still mount). */
export function datasetsScript(ds: GuestDataset[]): string {
  const lines = ['#!/bin/sh', '# Managed by Hangar.', 'set -u', 'rc=0'];
  for (const [i, d] of ds.entries()) {
    const opts = [
      `passwd_file=${KEYS}/${i}.passwd`,
      `url=${d.endpoint}`,
      `endpoint=${d.region}`,
      ...(d.pathStyle ? ['use_path_request_style'] : []),
      'allow_other',
      `uid=${LOGIN_UID}`,
      `gid=${LOGIN_GID}`,
      'umask=0022',
      'mp_umask=0022',
      ...(d.readOnly ? ['ro'] : []),
    ];
    lines.push(
      `mkdir -p ${shq(d.target)}`,
      `mountpoint -q ${shq(d.target)} || s3fs ${shq(`${d.bucket}:/${d.prefix}`)} ${shq(d.target)} -o ${shq(opts.join(','))} || { echo "hangar: dataset at ${d.target.replace(/["$`\\]/g, '')} did not mount" >&2; rc=1; }`,
    );
  }
  lines.push('exit $rc');
  return lines.join('\n') + '\n';
}

export function datasetsUnit(): string {
  return [
    '[Unit]',
    'Description=Hangar: datasets (s3fs mounts of the env’s buckets/prefixes)',
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
        path: `${KEYS}/${i}.passwd`,
        content: `${d.accessKeyId}:${d.secretAccessKey}\n`,
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
