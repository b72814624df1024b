// Two VMs made at once on one pool (uploads, refreshes and forward ports don't collide), and kill -9 of the daemon while
// it is making a VM (overlay made, domain not yet defined or started): after a restart the env boots from exactly one
// domain and one set of volumes, with the host key the row records.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Cli } from '../helpers/cli';
import { spawnDaemon, startDaemon } from '../helpers/daemon';
import { LIBVIRT_CONFIG, POOL_DIR } from '../helpers/libvirt';
import { tmpDir } from '../helpers/tmp';

const TEMPLATE = 'debian12-durable';
const virsh = (...args: string[]) =>
  execFileSync('virsh', ['-q', '-c', 'qemu:///system', ...args], { encoding: 'utf8' });
/** The pool's files, read on disk (asking libvirt to refresh the pool while the daemon uploads into it is refused). */
const volumes = () => fs.readdirSync(POOL_DIR);

describe('kvm: durability', function () {
  this.timeout(900_000);

  it('two VMs created at once on one pool: both run, each with its own forward port, reachable by SSH', async () => {
    const d = await startDaemon({ configYaml: LIBVIRT_CONFIG });
    const name = 'debian12-pair';
    try {
      const dir = execFileSync('bash', ['test/setup/build-vm-image.sh', 'path'], { encoding: 'utf8' }).trim();
      const meta = JSON.parse(fs.readFileSync(path.join(dir, 'template.json'), 'utf8'));
      await d.admin.deleteTemplate('kvm', name).catch(() => undefined);
      await d.admin.importTemplate('kvm', {
        name,
        os: 'debian-12',
        default_user: 'debian',
        firmware: 'direct-kernel',
        cmdline: meta.cmdline,
        disk: { file: path.join(dir, 'disk.qcow2') },
        kernel: { file: path.join(dir, meta.kernel) },
        initrd: { file: path.join(dir, meta.initrd) },
      });
      const envs = await Promise.all(
        ['pair-a', 'pair-b'].map((n) =>
          d.admin.createEnvironment({
            name: n,
            deployment_mode: 'vm',
            backend_id: 'kvm',
            image: name,
            environment_type: 'terminal',
            memory_mb: 512,
          }),
        ),
      );
      const ready = await Promise.all(
        envs.map((e) => d.admin.waitFor(e.id, ['running', 'failed'], { timeoutMs: 800_000 })),
      );
      assert.deepEqual(
        ready.map((e) => [e.name, e.status, e.status_message]),
        [
          ['pair-a', 'running', null],
          ['pair-b', 'running', null],
        ],
      );
      const ports = ready.map((e) => /hostfwd=tcp:127\.0\.0\.1:(\d+)-:2222/.exec(virsh('dumpxml', e.backend_ref!))![1]);
      assert.notEqual(ports[0], ports[1]);
      const cli = new Cli(d.url);
      await cli.login(d.token);
      for (const e of ready)
        assert.equal((await cli.run(['ssh', e.name, '--', 'hostname'], { timeoutMs: 120_000 })).stdout.trim(), e.name);
    } finally {
      for (const e of await d.admin.listEnvironments()) await d.admin.deleteEnvironment(e.id).catch(() => undefined);
      await d.server.envs.idle();
      await d.admin.deleteTemplate('kvm', name).catch(() => undefined);
      await d.close();
    }
  });

  it('kill -9 mid-create: after restart the VM runs from one domain and one overlay, nothing orphaned', async () => {
    const dataDir = tmpDir('hangard-vmkill-');
    const cfg = path.join(dataDir, 'hangar.yaml');
    fs.writeFileSync(cfg, LIBVIRT_CONFIG);
    const dir = execFileSync('bash', ['test/setup/build-vm-image.sh', 'path'], { encoding: 'utf8' }).trim();
    const meta = JSON.parse(fs.readFileSync(path.join(dir, 'template.json'), 'utf8'));
    let daemon = await spawnDaemon(dataDir, ['--config', cfg]);
    await daemon.admin.deleteTemplate('kvm', TEMPLATE).catch(() => undefined);
    await daemon.admin.importTemplate('kvm', {
      name: TEMPLATE,
      os: 'debian-12',
      default_user: 'debian',
      firmware: 'direct-kernel',
      cmdline: meta.cmdline,
      disk: { file: path.join(dir, 'disk.qcow2') },
      kernel: { file: path.join(dir, meta.kernel) },
      initrd: { file: path.join(dir, meta.initrd) },
    });
    const env = await daemon.admin.createEnvironment({
      name: 'durable-vm',
      deployment_mode: 'vm',
      backend_id: 'kvm',
      image: TEMPLATE,
      environment_type: 'terminal',
    });
    const ref = `hangar-${env.id}`;
    const deadline = Date.now() + 60_000;
    while (!fs.existsSync(path.join(POOL_DIR, `${ref}.qcow2`)) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    await daemon.kill('SIGKILL');
    daemon = await spawnDaemon(dataDir, ['--config', cfg]);
    try {
      const running = await daemon.admin.waitFor(env.id, ['running', 'failed'], { timeoutMs: 700_000 });
      assert.equal(running.status, 'running', running.status_message ?? '');
      assert.equal(running.backend_ref, ref);
      assert.deepEqual(
        virsh('list', '--all', '--name')
          .split('\n')
          .filter((n) => n.includes(env.id)),
        [ref],
      );
      assert.deepEqual(
        volumes()
          .filter((v) => v.startsWith(ref))
          .sort(),
        [`${ref}-console.log`, `${ref}-seed.qcow2`, `${ref}.qcow2`],
      );
      // The host key in the VM is the one the (new) row pins: `hangar ssh` checks it strictly.
      const cli = new Cli(daemon.url);
      await cli.login(daemon.token);
      const r = await cli.run(['ssh', 'durable-vm', '--', 'hostname'], { timeoutMs: 120_000 });
      assert.equal(r.stdout.trim(), 'durable-vm', r.stderr);
      await daemon.admin.deleteEnvironment(env.id);
      const gone = Date.now() + 120_000;
      while (virsh('list', '--all', '--name').includes(ref) && Date.now() < gone)
        await new Promise((res) => setTimeout(res, 200));
      assert.deepEqual(
        volumes().filter((v) => v.startsWith(ref)),
        [],
      );
    } finally {
      // Also after a failure: the env's VM would keep the template in use for the next run.
      if (
        await daemon.admin.getEnvironment(env.id).then(
          () => true,
          () => false,
        )
      ) {
        await daemon.admin.deleteEnvironment(env.id).catch(() => undefined);
        const until = Date.now() + 180_000;
        while (
          (await daemon.admin.getEnvironment(env.id).then(
            () => true,
            () => false,
          )) &&
          Date.now() < until
        )
          await new Promise((res) => setTimeout(res, 500));
      }
      await daemon.admin.deleteTemplate('kvm', TEMPLATE).catch(() => undefined);
      await daemon.kill('SIGTERM');
    }
  });
});
