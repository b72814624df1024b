// "Running" means the env answers: sshd's banner by default, an RDP listener (a Windows VM), or just running —
// unless the backend knows when its env is ready (the readyWait capability).
import { capability, RDP_PORT, SSH_PORT, type BackendStatus, type Driver } from '../contract';
import { NoNetworkAddressError, UnprocessableError } from '../errors';
import type { Logger } from '../log';
import { pollUntil } from '../backends/shared/poll';
import { firstBytes, isRdpConfirm, isSshBanner, RDP_CONNECTION_REQUEST } from '../backends/shared/probe';
import { readAll } from '../backends/shared/streams';

const EXIT_CHECK_MS = 200;

export interface ReadyDeps {
  log: Logger;
  stopTimeoutS: number;
}

/** Waits until the env answers; throws UnprocessableError when it exits instead (saying why) or never answers. */
export async function waitUntilReady(
  d: ReadyDeps,
  driver: Driver,
  ref: string,
  timeoutMs = driver.readyTimeoutMs ?? 60_000,
): Promise<BackendStatus | void> {
  const known = capability(driver, 'readyWait');
  if (known) return known.waitReady(ref);
  // What "ready" means is the image's business: sshd (the default), an RDP listener (a Windows VM), or just running.
  const probe = (await capability(driver, 'readinessHint')?.probe(ref)) ?? 'ssh';
  let last = '';
  const repair = noAddressRepair(d, driver, ref);
  // Whether it exited is asked at most every EXIT_CHECK_MS: a refused connect is cheap, an inspect is not.
  let checked = 0;
  const ready = await pollUntil(
    async () => {
      if (Date.now() - checked >= EXIT_CHECK_MS) {
        await failIfExited(driver, ref);
        checked = Date.now();
      }
      if (probe === 'running') return true;
      try {
        const answer = await firstBytes(
          await driver.openPort(ref, probe === 'ssh' ? SSH_PORT : RDP_PORT),
          probe === 'rdp' ? RDP_CONNECTION_REQUEST : undefined,
        );
        if (probe === 'ssh' ? isSshBanner(answer) : isRdpConfirm(answer)) return true;
        last = `unexpected answer ${JSON.stringify(answer.toString('latin1').slice(0, 40))}`;
      } catch (err) {
        last = (err as Error).message;
        await repair(err);
      }
      return undefined;
    },
    { timeoutMs, ...(driver.readyPoll ?? { intervalMs: 50, factor: 1.5, maxMs: 500 }) },
  );
  if (!ready)
    throw new UnprocessableError(
      `${probe === 'ssh' ? 'sshd' : 'RDP'} did not answer within ${timeoutMs / 1000} s: ${last}`,
    );
}

async function failIfExited(driver: Driver, ref: string): Promise<void> {
  const st = await driver.inspect(ref);
  if (st.state === 'running') return;
  const logs = await driver
    .logs(ref, { tail: 5 })
    .then(readAll)
    .catch(() => '');
  throw new UnprocessableError(
    `environment exited during start-up (${st.message ?? st.state})${logs ? ': ' + logs.trim().split('\n').slice(-3).join(' | ') : ''}`,
  );
}

/** A start cut short (client gone mid-request, e.g. a daemon crash) can leave dockerd running the container
 *  without its network. One restart repairs it, once that has lasted 3 s. */
function noAddressRepair(d: ReadyDeps, driver: Driver, ref: string): (err: unknown) => Promise<void> {
  let since = 0;
  let restarted = false;
  return async (err) => {
    if (!(err instanceof NoNetworkAddressError)) return;
    since ||= Date.now();
    if (restarted || Date.now() - since <= 3000) return;
    restarted = true;
    d.log.warn({ ref }, 'running without a network address: restarting it');
    await driver.restart(ref, d.stopTimeoutS);
  };
}
