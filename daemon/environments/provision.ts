// Provisioning and its resumes. Durable: every step checks what already exists (image, object by label, recorded
// ref), so a crash at any point is finished by the next pass (reconcile.ts) instead of leaving half-made envs.
import type { Environment } from '../../common/model';
import { capability, type Driver } from '../contract';
import { BackendUnavailableError } from '../errors';
import { generateEd25519 } from '../services/keys';
import { declaredAccess } from './access';
import type { LifecycleContext } from './context';
import { waitUntilReady } from './readiness';
import type { SpecOf } from './spec';
import { settle, setStatus } from './status';

export interface ProvisionContext extends LifecycleContext {
  specOf: SpecOf;
}

/** creating → starting → running (or failed, with nothing left behind). `hostPrivateKey` is there on the first
 *  pass only: a resumed pass makes a new host key if it has to create the object again. */
export async function provision(ctx: ProvisionContext, id: string, hostPrivateKey?: string): Promise<void> {
  const env = await ctx.repo.get(id);
  if (!env) return;
  const driver = ctx.backends.get(env.backend_id);
  try {
    await driver.ensureImage(env.image, env.image_pull_policy, (m) => ctx.log.debug({ env: id, m }, 'image'));
    const labels = capability(driver, 'imageLabels');
    if (labels) await ctx.repo.setDeclaredAccess(id, declaredAccess(await labels.imageLabels(env.image)));
    const { ref, row, created } = await ensureObject(ctx, driver, env, hostPrivateKey);
    await ctx.repo.update(id, { backend_ref: ref });
    await setStatus(ctx, row, ['creating'], 'starting');
    await ctx.datasets?.attach(row);
    if (created) {
      if (!driver.startedByCreate) await driver.start(ref);
    } else if ((await driver.inspect(ref)).state === 'running') {
      // Resumed after a crash that may have cut a start short (dockerd can leave such a container without its
      // network): restart it into a known state rather than trust it.
      await driver.restart(ref, ctx.stopTimeoutS);
    } else {
      await driver.start(ref);
    }
    await settle(ctx, row, await waitUntilReady(ctx, driver, ref));
  } catch (err) {
    await provisionFailed(ctx, driver, env, err);
  }
}

/** The backend object of the env: the recorded or labelled one, or a new one. */
async function ensureObject(
  ctx: ProvisionContext,
  driver: Driver,
  env: Environment,
  hostPrivateKey?: string,
): Promise<{ ref: string; row: Environment; created: boolean }> {
  // A first pass (the host key in hand) follows the row's insert at once: no object can carry its new id yet.
  let ref = env.backend_ref ?? (hostPrivateKey ? undefined : await driver.findByEnvId(env.id));
  if (ref && !hostPrivateKey && (await driver.inspect(ref)).state === 'created') {
    // Made but never started before the crash: its boot files may never have been written. Start over.
    await driver.delete(ref);
    await ctx.repo.update(env.id, { backend_ref: null });
    ref = undefined;
  }
  if (ref) return { ref, row: env, created: false };
  // A resumed create lost the private host key with the old process: make a new pair (nothing used it yet).
  let privateKey = hostPrivateKey;
  let row = env;
  if (!privateKey) {
    const k = generateEd25519(`hangar-${env.name}`);
    privateKey = k.privateKey;
    row = (await ctx.repo.update(env.id, { host_key: k.publicKey }))!;
  }
  const spec = { ...(await ctx.specOf(row, privateKey, driver.sshPort)), startNow: true, absent: true };
  return { ref: await driver.create(spec), row, created: true };
}

async function provisionFailed(ctx: ProvisionContext, driver: Driver, env: Environment, err: unknown): Promise<void> {
  const id = env.id;
  if (err instanceof BackendUnavailableError) {
    // Keep the row as it is: reconcile resumes when the backend is back.
    await ctx.repo.update(id, { status_message: err.message });
    ctx.log.warn({ env: id, err: err.message }, 'provisioning paused: backend unavailable');
    return;
  }
  ctx.log.error({ env: id, err: String(err) }, 'provisioning failed');
  // Nothing half-made stays behind: remove what was created, keep the row as failed with the reason.
  const ref = (await ctx.repo.get(id))?.backend_ref ?? (await driver.findByEnvId(id).catch(() => undefined));
  if (ref) await driver.delete(ref).catch(() => undefined);
  await ctx.datasets?.detach(id).catch(() => undefined);
  await ctx.datasets?.revoke(env).catch(() => undefined);
  await ctx.repo.update(id, { backend_ref: null });
  await ctx.gpus.release(id);
  await setStatus(ctx, env, ['creating', 'starting'], 'failed', err instanceof Error ? err.message : String(err));
}

/** An interrupted start of an existing object: finish it (never a fresh create). */
export async function resumeStart(ctx: LifecycleContext, id: string): Promise<void> {
  const env = (await ctx.repo.get(id))!;
  const driver = ctx.backends.get(env.backend_id);
  try {
    await ctx.datasets?.attach(env);
    if ((await driver.inspect(env.backend_ref!)).state === 'running')
      await driver.restart(env.backend_ref!, ctx.stopTimeoutS);
    else await driver.start(env.backend_ref!);
    await settle(ctx, env, await waitUntilReady(ctx, driver, env.backend_ref!));
  } catch (err) {
    if (err instanceof BackendUnavailableError) return; // stays 'starting'; the next pass retries
    await ctx.gpus.release(id);
    await setStatus(ctx, env, ['starting'], 'failed', (err as Error).message);
  }
}

/** Resumable: removes the backend object (by ref or by label), then the row. */
export async function finishDelete(ctx: LifecycleContext, id: string): Promise<void> {
  const env = await ctx.repo.get(id);
  if (!env) return;
  const driver = ctx.backends.get(env.backend_id);
  const ref = env.backend_ref ?? (await driver.findByEnvId(id));
  if (ref) await driver.delete(ref);
  await ctx.datasets?.detach(id);
  await ctx.datasets?.revoke(env);
  await ctx.gpus.release(id);
  await ctx.repo.delete(id);
  ctx.events.publish({ type: 'environment.deleted', environment_id: id, owner_id: env.owner_id, status: 'deleting' });
}
