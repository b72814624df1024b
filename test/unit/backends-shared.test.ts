import assert from 'node:assert/strict';
import { dockerUnreachable } from '../../daemon/backends/docker';
import { isUnreachable, k8sUnreachable } from '../../daemon/backends/kubernetes/api';
import { VirshError, virshUnreachable } from '../../daemon/backends/libvirt/virsh';
import { byCode, guard } from '../../daemon/backends/shared/call';
import { pollUntil } from '../../daemon/backends/shared/poll';
import { capability } from '../../daemon/contract';
import { BackendUnavailableError } from '../../daemon/errors';
import { FakeDriver } from './environments/fakeDriver';

const sys = (code: string, message = 'boom') => Object.assign(new Error(message), { code });

describe('backends/shared: the toolkit', () => {
  it('one classifier per kind: socket codes, ssh2 levels, fetch errors, virsh stderr', () => {
    assert.equal(
      dockerUnreachable(sys('ECONNREFUSED', 'connect ECONNREFUSED /var/run/docker.sock')),
      'ECONNREFUSED: connect ECONNREFUSED /var/run/docker.sock',
    );
    assert.equal(
      dockerUnreachable(Object.assign(new Error('Timed out'), { level: 'client-timeout' })),
      'client-timeout: Timed out',
    );
    assert.equal(dockerUnreachable(Object.assign(new Error('no such container'), { statusCode: 404 })), undefined);
    assert.equal(
      k8sUnreachable(Object.assign(new Error('fetch failed'), { cause: { code: 'UND_ERR_SOCKET' } })),
      'UND_ERR_SOCKET: fetch failed',
    );
    assert.equal(
      k8sUnreachable(Object.assign(new Error('request to x failed'), { name: 'FetchError' })),
      'unreachable: request to x failed',
    );
    assert.ok(!isUnreachable(Object.assign(new Error('Forbidden'), { code: 403 })));
    assert.match(
      virshUnreachable(new VirshError(['list'], 'error: failed to connect to the hypervisor', 1))!,
      /virsh list: failed to connect/,
    );
    assert.equal(virshUnreachable(new VirshError(['domstate'], "error: failed to get domain 'x'", 1)), undefined);
  });

  it('guard() turns what the classifier calls unreachable into BackendUnavailableError naming the backend', async () => {
    const err = await guard('b1', byCode(['ECONNREFUSED']), () => Promise.reject(sys('ECONNREFUSED'))).catch(
      (e: Error) => e,
    );
    assert.ok(err instanceof BackendUnavailableError);
    assert.equal(err.message, "backend 'b1' is unavailable: ECONNREFUSED: boom");
    const other = sys('EOTHER');
    assert.equal(
      await guard('b1', byCode(['ECONNREFUSED']), () => Promise.reject(other)).catch((e: Error) => e),
      other,
    );
  });

  it('pollUntil: the first value, undefined at the deadline, a check that throws ends it', async () => {
    let n = 0;
    assert.equal(await pollUntil(async () => (++n >= 3 ? n : undefined), { timeoutMs: 1000, intervalMs: 1 }), 3);
    assert.equal(await pollUntil(async () => undefined, { timeoutMs: 20, intervalMs: 5 }), undefined);
    await assert.rejects(
      pollUntil(
        async () => {
          throw new Error('gone');
        },
        { timeoutMs: 1000, intervalMs: 1 },
      ),
      /gone/,
    );
  });

  it('capabilities are asked for by name and typed; a backend without one answers undefined', () => {
    const fake = new FakeDriver();
    assert.equal(capability(fake, 'gpus')?.allocation, 'gateway');
    assert.equal(capability(fake, 'snapshots'), undefined);
  });
});
