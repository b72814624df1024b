// The directories Hangar makes on an NFS share for the login user (per_user / per_env / {user} / {env} sub-paths),
// as one sh script every backend runs as root where the share's base is mounted: the VM guest (cloud-init), a
// Kubernetes init container, a short-lived Docker container. Made one level at a time so that no symlink a user
// left on the export is followed, and only directories root owns (new ones, or ones made before this fix) are handed
// over: a directory another user owns is never taken.
import { LOGIN_GID, LOGIN_UID, type NfsSource } from '../../contract';
import { shq } from './streams';

/** sh for `make.sub` below `mountedBase` (where make.base is mounted). Segments were checked by the gateway (letters,
 *  digits, "_", "." and "-"); they are quoted all the same. */
export function makeDirsScript(mountedBase: string, make: NonNullable<NfsSource['make']>): string {
  const lines = [`p=${shq(mountedBase)}`];
  for (const seg of make.sub.split('/')) {
    lines.push(
      `p="$p"/${shq(seg)}`,
      `if [ -L "$p" ]; then echo "hangar: refusing $p on the share: a symlink" >&2; exit 1; fi`,
      `[ -d "$p" ] || mkdir -m 0750 "$p"`,
      `if [ "$(stat -c %u "$p")" = 0 ]; then chown ${LOGIN_UID}:${LOGIN_GID} "$p"; fi`,
    );
  }
  return lines.join('\n');
}
