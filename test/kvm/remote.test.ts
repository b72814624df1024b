// A "remote" libvirt host: qemu+ssh:// through a real OpenSSH server on 127.0.0.1 (virsh runs virt-ssh-helper there).
// Templates are uploaded over it, the console is read back over it, and the tunnel reaches the VM's forwarded SSH
// port through the daemon's own SSH hop to that host.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Cli } from '../helpers/cli';
import { startDaemon, type TestDaemon } from '../helpers/daemon';
import { POOL } from '../helpers/libvirt';
import { startSshd, type Sshd } from '../helpers/sshd';

const TEMPLATE = 'debian12-remote';

describe('kvm: a libvirt host over qemu+ssh://', function () {
  this.timeout(900_000);
  let sshd: Sshd;
  let d: TestDaemon;
  let cli: Cli;

  before(async () => {
    sshd = await startSshd();
    const uri = `qemu+ssh://root@127.0.0.1:${sshd.port}/system?keyfile=${sshd.clientKeyFile}&no_verify=1&no_tty=1`;
    d = await startDaemon({
      configYaml:
        `backends:\n  - id: far\n    kind: libvirt\n    uri: "${uri}"\n    ssh_key_file: ${sshd.clientKeyFile}\n    ssh_host_key: ${sshd.hostPublicKey}\n    pool: ${POOL}\n    virt_type: qemu\n    restrict_network: true\n` +
        `    forward_port_range: { from: 22400, to: 22499 }\n    default_vcpus: 1\n    default_memory_mb: 768\n    boot_timeout_s: 600\n`,
    });
    cli = new Cli(d.url);
    await cli.login(d.token);
    await d.admin.deleteTemplate('far', TEMPLATE).catch(() => undefined);
  });
  after(async () => {
    for (const e of (await d?.admin.listEnvironments()) ?? [])
      await d.admin.deleteEnvironment(e.id).catch(() => undefined);
    await d?.server.envs.idle();
    await d?.admin.deleteTemplate('far', TEMPLATE).catch(() => undefined);
    await d?.close();
    await sshd?.stop();
  });

  it('boots a VM on the remote host and reaches it through the SSH hop; its console comes back over libvirt', async () => {
    const b = (await d.admin.backends()).find((x) => x.id === 'far')!;
    assert.equal(b.available, true, b.error);
    const dir = execFileSync('bash', ['test/setup/build-vm-image.sh', 'path'], { encoding: 'utf8' }).trim();
    const meta = JSON.parse(fs.readFileSync(path.join(dir, 'template.json'), 'utf8'));
    await d.admin.importTemplate('far', {
      name: TEMPLATE,
      os: 'debian-12',
      default_user: 'debian',
      firmware: 'direct-kernel',
      cmdline: meta.cmdline,
      disk: { file: path.join(dir, 'disk.qcow2') },
      kernel: { file: path.join(dir, meta.kernel) },
      initrd: { file: path.join(dir, meta.initrd) },
    });
    const r = await cli.run(
      [
        '--json',
        'create',
        'far1',
        '--backend',
        'far',
        '--deployment-mode',
        'vm',
        '--image',
        TEMPLATE,
        '--type',
        'terminal',
      ],
      { timeoutMs: 800_000 },
    );
    assert.equal(r.code, 0, r.stderr);
    const env = JSON.parse(r.stdout);
    assert.equal(env.status, 'running');
    const ssh = await cli.run(['ssh', 'far1', '--', 'hostname'], { timeoutMs: 120_000 });
    assert.equal(ssh.stdout.trim(), 'far1', ssh.stderr);
    const log = await (
      await fetch(`${d.url}/api/v1/environments/${env.id}/logs?tail=500`, {
        headers: { authorization: `Bearer ${d.token}` },
      })
    ).text();
    assert.match(log, /running 'modules:final'/);
    await d.admin.deleteEnvironment(env.id);
    await d.server.envs.idle();
    assert.ok(
      !execFileSync('virsh', ['-q', '-c', 'qemu:///system', 'list', '--all', '--name'], { encoding: 'utf8' }).includes(
        env.backend_ref,
      ),
    );
  });
});
