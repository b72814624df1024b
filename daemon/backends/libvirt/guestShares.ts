// NFS shares in a VM, mounted by the guest's own kernel client: fstab entries (the share's version and options,
// _netdev, nofail) that systemd mounts at every boot, and a oneshot unit ordered before them that makes the
// directories Hangar owns for the login user (the share's base mounted at a private path, mkdir, chown, unmounted).
// The guest reaches the server itself: on a libvirt network, or on user-mode networking through QEMU's NAT (a server
// on the libvirt host's loopback is QEMU's host alias 10.0.2.2 there). restrict_network leaves the guest nothing to
// reach (QEMU's guestfwd can carry only one connection per address, which NFS outgrows): refused, naming it.
import { UnprocessableError } from '../../errors';
import type { SpecMount } from '../../contract';
import { makeDirsScript } from '../shared/shareDirs';

/** One share mount as the guest does it. */
export interface GuestShare {
  /** Where the guest finds the server. */
  address: string;
  path: string;
  target: string;
  version: string;
  options: string[];
  readOnly: boolean;
  make?: { base: string; sub: string };
}

export const SHARES_UNIT = 'hangar-shares.service';
const SCRIPT = '/var/lib/hangar/shares.sh';
/** QEMU user-mode networking's address for the host's own loopback. */
const SLIRP_HOST = '10.0.2.2';
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1']);

/** The spec's nfs mounts as a VM on this network does them. */
export function guestShares(
  mounts: SpecMount[],
  net: { backendId: string; network: string; restrict: boolean },
): GuestShare[] {
  const shares = mounts.filter((m) => m.type === 'nfs');
  if (shares.length && net.network === 'user' && net.restrict)
    throw new UnprocessableError(
      `storage_config.mounts: share '${shares[0].source}' can't be reached from a VM on backend '${net.backendId}': restrict_network keeps its guests from opening any connection (use a libvirt network, or restrict_network: false)`,
    );
  return shares.map((m) => {
    const n = m.nfs!;
    if (n.kind !== 'nfs')
      throw new UnprocessableError(`share '${m.source}': VMs mount NFS shares only (not ${n.kind})`);
    return {
      address: net.network === 'user' && LOOPBACK.has(n.server) ? SLIRP_HOST : n.server,
      path: n.path,
      target: m.target,
      version: n.version,
      options: n.options,
      readOnly: Boolean(m.read_only),
      ...(n.make ? { make: n.make } : {}),
    };
  });
}

/** fstab's own escaping of a path (space, tab, newline, backslash). */
const fstabPath = (p: string) => p.replace(/[\\ \t\n]/g, (c) => `\\${c.charCodeAt(0).toString(8).padStart(3, '0')}`);
const mountOptions = (s: GuestShare) => [`nfsvers=${s.version}`, ...s.options];

export function fstabLines(shares: GuestShare[]): string {
  return shares
    .map((s) => {
      const o = [...mountOptions(s), s.readOnly ? 'ro' : 'rw', '_netdev', 'nofail', 'x-systemd.mount-timeout=120'];
      return `${s.address}:${fstabPath(s.path)} ${fstabPath(s.target)} nfs ${o.join(',')} 0 0`;
    })
    .join('\n')
    .concat('\n');
}

/** Every boot, before the fstab mounts: each share's base at /run/hangar/share-N, the owned directories made. */
export function sharesScript(shares: GuestShare[]): string {
  const q = (x: string) => `'${x.replace(/'/g, `'\\''`)}'`;
  const lines = ['#!/bin/sh', '# Managed by Hangar.', 'set -eu', 'install -d -m 0700 /run/hangar'];
  for (const [i, s] of shares.entries()) {
    lines.push(`mkdir -p ${q(s.target)}`);
    if (!s.make) continue;
    const at = `/run/hangar/share-${i}`;
    lines.push(
      `install -d -m 0700 ${at}`,
      `mountpoint -q ${at} || mount -t nfs -o ${mountOptions(s).join(',')} ${q(`${s.address}:${s.make.base}`)} ${at}`,
      `( ${makeDirsScript(at, s.make).split('\n').join('\n  ')}\n) || { umount ${at}; exit 1; }`,
      `umount ${at}`,
    );
  }
  return lines.join('\n') + '\n';
}

export function sharesUnit(): string {
  return [
    '[Unit]',
    'Description=Hangar: directories on NFS shares for the login user',
    'Wants=network-online.target',
    'After=network-online.target',
    'Before=remote-fs-pre.target',
    '',
    '[Service]',
    'Type=oneshot',
    'RemainAfterExit=yes',
    `ExecStart=/bin/sh ${SCRIPT}`,
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ].join('\n');
}

/** cloud-init pieces: files to write (fstab appended once), and what the first boot runs (later boots: systemd). */
export function sharesCloudInit(shares: GuestShare[]): {
  files: { path: string; content: string; permissions: string; append?: boolean }[];
  runcmd: string[][];
} {
  if (!shares.length) return { files: [], runcmd: [] };
  return {
    files: [
      { path: SCRIPT, content: sharesScript(shares), permissions: '0700' },
      { path: `/etc/systemd/system/${SHARES_UNIT}`, content: sharesUnit(), permissions: '0644' },
      { path: '/etc/fstab', content: fstabLines(shares), permissions: '0644', append: true },
    ],
    // fstab changed after systemd read it: reload, make the directories, then mount (what later boots do alone).
    runcmd: [
      ['systemctl', 'daemon-reload'],
      ['systemctl', 'enable', '--now', SHARES_UNIT],
      ['systemctl', 'start', 'remote-fs.target'],
    ],
  };
}
