// "Sync back now" for datasets copied into a pod (datasetSync.ts): rclone in each read-write dataset's copy-back
// sidecar (in its working directory, the dataset's copy), which has the env's scoped keys in its environment and the
// remote as its script's argument: nothing of the user's reaches the command line, no key passes the gateway.
import type { DatasetSyncBack } from '../../contract';
import { parseRef } from './api';
import type { K8sClient } from './client';
import { COPY_BACK } from './datasetSync';
import { exec, pod } from './streams';

export async function syncBack(c: K8sClient, ref: string): Promise<DatasetSyncBack[]> {
  const p = await pod(c, parseRef(ref));
  const sidecars = (p.spec?.initContainers ?? []).filter((x) => COPY_BACK.test(x.name));
  return Promise.all(
    sidecars.map(async (x): Promise<DatasetSyncBack> => {
      const mountIndex = Number(COPY_BACK.exec(x.name)![1]);
      const remote = x.command?.[x.command.length - 1];
      if (!remote?.startsWith('ds:')) return { mountIndex, ok: false, message: `${x.name} names no dataset` };
      const r = await exec(c, ref, ['rclone', 'copy', '.', remote], { container: x.name }).catch((err: Error) => ({
        exitCode: -1,
        stderr: err.message,
      }));
      const last = r.stderr.trim().split('\n').pop();
      return r.exitCode === 0
        ? { mountIndex, ok: true }
        : { mountIndex, ok: false, message: last || `exit ${r.exitCode}` };
    }),
  );
}
