// The Docker driver against the real engine, and a "remote" Docker host reached through a real sshd.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { EnvSpec } from '../../daemon/contract';
import { DockerDriver } from '../../daemon/backends/docker';
import { createLogger } from '../../daemon/log';
import { Cli } from '../helpers/cli';
import { startDaemon } from '../helpers/daemon';
import { containersWith, inspect, SSH_IMAGE } from '../helpers/docker';
import { startSshd, type Sshd } from '../helpers/sshd';
import { generateEd25519 } from '../../common/sshkeys';

const spec = (over: Partial<EnvSpec> = {}): EnvSpec => ({
  envId: `drv-${Date.now()}`,
  name: 'drv',
  owner: 'u',
  image: SSH_IMAGE,
  pullPolicy: 'never',
  cpu: null,
  memoryMb: null,
  env: {},
  ports: [],
  mounts: [],
  gpus: { mode: 'none', deviceIds: [], count: 0 },
  files: [],
  command: ['/bin/sleep', '600'],
  ...over,
});

describe('docker: driver against the real engine', function () {
  this.timeout(120_000);
  const driver = new DockerDriver({
    id: 'local',
    url: 'unix:///var/run/docker.sock',
    publish_address: '127.0.0.1',
    nvidia_smi: 'nvidia-smi',
    gpu_shared_replicas: 4,
    gatewayId: `t${process.pid}`,
    log: createLogger('silent'),
  });

  it('stores the granted GPUs by UUID in HostConfig.DeviceRequests', async () => {
    const ids = ['GPU-0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0', 'GPU-1a2b3c4d-5e6f-7081-92a3-b4c5d6e7f809'];
    const ref = await driver.create(spec({ gpus: { mode: 'exclusive', deviceIds: ids, count: 2 } }));
    try {
      const c = await inspect(ref);
      assert.deepEqual(c.HostConfig.DeviceRequests, [
        { Driver: 'nvidia', Count: 0, DeviceIDs: ids, Capabilities: [['gpu']], Options: {} },
      ]);
    } finally {
      await driver.delete(ref);
    }
  });

  it('create is idempotent per env id; files land with their modes; delete of a missing object is fine', async () => {
    const s = spec({ files: [{ path: '/.hangar/secret', content: 'x', mode: 0o600 }] });
    const ref = await driver.create(s);
    assert.equal(await driver.create(s), ref);
    await driver.start(ref);
    const r = await driver.exec(ref, ['stat', '-c', '%a %U', '/.hangar/secret']);
    assert.equal(r.stdout.trim(), '600 root');
    assert.equal((await driver.inspect(ref)).state, 'running');
    await driver.stop(ref, 1);
    assert.equal((await driver.inspect(ref)).state, 'stopped');
    await driver.delete(ref);
    await driver.delete(ref);
    assert.equal((await driver.inspect(ref)).state, 'missing');
  });
});

describe('docker: a remote Docker host over ssh://', function () {
  this.timeout(180_000);
  let sshd: Sshd;
  before(async () => {
    sshd = await startSshd();
  });
  after(async () => {
    await sshd?.stop();
  });

  it("provisions through `docker system dial-stdio` and tunnels SSH through the host's sshd", async () => {
    const d = await startDaemon({
      configYaml: `backends:\n  - id: remote\n    url: ssh://root@127.0.0.1:${sshd.port}\n    ssh_key_file: ${sshd.clientKeyFile}\n    ssh_host_key: ${sshd.hostPublicKey}\n`,
    });
    try {
      const [b] = await d.admin.backends();
      assert.equal(b.id, 'remote');
      assert.equal(b.available, true, b.error);
      const cli = new Cli(d.url);
      await cli.login(d.token);
      const r = await cli.run([
        '--json',
        'create',
        'far',
        '--image',
        SSH_IMAGE,
        '--pull',
        'never',
        '--type',
        'terminal',
      ]);
      assert.equal(r.code, 0, r.stderr);
      const env = JSON.parse(r.stdout);
      assert.equal(env.backend_id, 'remote');
      assert.equal((await inspect(env.backend_ref)).Config.Labels['dev.hangar.backend'], 'remote');
      const s = await cli.run(['ssh', 'far', '--', 'hostname']);
      assert.equal(s.stdout.trim(), 'far', s.stderr);
      assert.equal((await cli.run(['rm', 'far'])).code, 0);
      assert.deepEqual(await containersWith(`dev.hangar.env-id=${env.id}`), []);
    } finally {
      await d.close();
    }
    assert.ok(fs.existsSync(path.dirname(sshd.clientKeyFile)));
  });

  it('a pinned host key that does not match: the backend is unavailable, nothing is sent to that host', async () => {
    const other = generateEd25519('impostor').publicKey;
    const d = await startDaemon({
      configYaml: `backends:\n  - id: remote\n    url: ssh://root@127.0.0.1:${sshd.port}\n    ssh_key_file: ${sshd.clientKeyFile}\n    ssh_host_key: ${other}\n`,
    });
    try {
      const [b] = await d.admin.backends();
      assert.equal(b.available, false);
      assert.match(b.error!, /remote.*unavailable|host/i);
    } finally {
      await d.close();
    }
  });
});
