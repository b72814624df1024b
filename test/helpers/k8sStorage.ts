// The storage tests' view of the test cluster: its StorageClasses (applied here, idempotently, so a cluster that
// is already up gets the classes the set-up added since), claims and their events.
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import type { V1PersistentVolumeClaim } from '@kubernetes/client-node';
import { CACHE_DIR } from './cache';
import type { TestDaemon } from './daemon';
import { eventually, k8sApis, KUBECONFIG } from './k8s';

const KUBECTL = path.join(CACHE_DIR, 'k8s/bin/current/kubectl');
const SETUP = path.resolve(__dirname, '../setup/k8s');

/** standard (default, WaitForFirstConsumer), hangar-test-expandable, and the Ceph stand-ins (test/setup/k8s). */
export function applyTestClasses(): void {
  for (const f of ['storage.yaml', 'ceph-standin.yaml'])
    execFileSync(
      KUBECTL,
      [
        `--kubeconfig=${KUBECONFIG}`,
        'apply',
        '--server-side',
        '--force-conflicts',
        '--field-manager=hangar-test',
        '-f',
        path.join(SETUP, f),
      ],
      { stdio: ['ignore', 'ignore', 'inherit'], timeout: 60_000 },
    );
}

export async function claim(namespace: string, name: string): Promise<V1PersistentVolumeClaim | undefined> {
  const { core } = k8sApis();
  return core.readNamespacedPersistentVolumeClaim({ namespace, name }).catch(() => undefined);
}

/** The claim once the PV controller bound it (the host-path provisioner made its volume). */
export const bound = (namespace: string, name: string) =>
  eventually(async () => {
    const c = await claim(namespace, name);
    return c?.status?.phase === 'Bound' && c;
  }, `claim ${namespace}/${name} Bound`);

/** What a claim asks for, in one comparable shape. */
export const asked = (c: V1PersistentVolumeClaim | undefined) => ({
  class: c?.spec?.storageClassName,
  modes: c?.spec?.accessModes,
  size: c?.spec?.resources?.requests?.storage,
});

export async function deleteNamespaces(names: Iterable<string>): Promise<void> {
  const { core } = k8sApis();
  for (const name of new Set(names)) await core.deleteNamespace({ name }).catch(() => undefined);
}

/** Ends a storage test on the cluster: its envs (waited for), then its volumes, the daemon, the namespaces it made. */
export async function closeClaimsTest(d: TestDaemon | undefined, namespaces: Iterable<string>): Promise<void> {
  for (const e of (await d?.admin.listEnvironments().catch(() => [])) ?? [])
    await d!.admin.deleteEnvironment(e.id).catch(() => undefined);
  if (d)
    await eventually(async () => (await d.admin.listEnvironments()).length === 0, 'envs deleted', 60_000).catch(
      () => undefined,
    );
  for (const v of (await d?.admin.volumes().catch(() => [])) ?? [])
    await d!.admin.deleteVolume(v.id).catch(() => undefined);
  await d?.close();
  await deleteNamespaces(namespaces);
}
