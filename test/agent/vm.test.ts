// hangar-agent in a VM (libvirt + QEMU under TCG, the Debian test template, which has its own sshd and Debian's
// jupyter-notebook): the agent rides in the cloud-init seed and serves port 22 instead of sshd (ssh_server agent),
// for the real OpenSSH client; the init script starts Jupyter, reached through the gateway.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Cli } from '../helpers/cli';
import { startDaemon, type TestDaemon } from '../helpers/daemon';
import { POOL, POOL_DIR } from '../helpers/libvirt';
import { AGENT_BINARY, OpenSsh } from './openssh';
import { agentAccessTests } from './suite';

const id = Date.now().toString(36);
const TEMPLATE = `agent-debian-${id}`;
const ENV = `agvm-${id}`;
const CONFIG = `
backends:
  - id: kvm
    kind: libvirt
    uri: qemu:///system
    pool: ${POOL}
    virt_type: qemu
    restrict_network: true
    forward_port_range: { from: 22700, to: 22749 }
    default_vcpus: 1
    default_memory_mb: 768
    boot_timeout_s: 900   # TCG on a shared 2-core machine: a boot took 520 s with another VM running
    shutdown_timeout_s: 60
`;

describe('agent: hangar-agent in a VM, delivered by cloud-init', function () {
  this.timeout(900_000);
  let d: TestDaemon;
  let ssh: OpenSsh;
  let envId: string | undefined;

  before(async () => {
    assert.ok(fs.existsSync(AGENT_BINARY), `${AGENT_BINARY} is missing: run bash scripts/build-native.sh`);
    const dir = execFileSync('bash', ['test/setup/build-vm-image.sh', 'path'], { encoding: 'utf8' }).trim();
    const meta = JSON.parse(fs.readFileSync(path.join(dir, 'template.json'), 'utf8'));
    d = await startDaemon({ configYaml: CONFIG });
    const cli = new Cli(d.url);
    await cli.login(d.token);
    ssh = new OpenSsh(cli, d.url);
    await ssh.configure();
    const imp = await cli.run(
      [
        ...['templates', 'import', 'kvm', TEMPLATE, '--disk', path.join(dir, 'disk.qcow2')],
        ...['--kernel', path.join(dir, meta.kernel), '--initrd', path.join(dir, meta.initrd)],
        ...['--cmdline', meta.cmdline, '--firmware', 'direct-kernel', '--os', 'debian-12', '--default-user', 'debian'],
      ],
      { timeoutMs: 600_000 },
    );
    assert.equal(imp.code, 0, imp.stderr);
    const env = await d.admin.createEnvironment({
      name: ENV,
      image: TEMPLATE,
      deployment_mode: 'vm',
      backend_id: 'kvm',
      environment_type: 'ide', // Jupyter too: the template has Debian's jupyter-notebook and no sshd on port 22
      ssh_server: 'agent',
      env_vars: { HANGAR_AGENT_T: 'two words' },
    });
    envId = env.id;
    await d.admin.waitFor(env.id, ['running'], { timeoutMs: 900_000 }).catch(async (err) => {
      // The serial console says why (cloud-init, the init unit, the agent's own stderr).
      const ref = (await d.admin.getEnvironment(ENV)).backend_ref;
      const file = path.join(POOL_DIR, `${ref}-console.log`);
      const log = fs.existsSync(file)
        ? fs.readFileSync(file, 'utf8').split('\n').slice(-80).join('\n')
        : '(no console log)';
      throw new Error(`${String(err)}\n--- console ---\n${log}`);
    });
  });
  after(async () => {
    if (envId) await d.admin.deleteEnvironment(envId).catch(() => undefined);
    await d?.server.envs.idle();
    await d?.admin.deleteTemplate('kvm', TEMPLATE).catch(() => undefined);
    await d?.close();
  });

  it('port 22 is the agent, not the template’s sshd', async () => {
    assert.equal((await d.admin.getEnvironment(ENV)).ssh_server, 'agent');
    const r = await ssh.ssh(ENV, 'ps -eo user,args | grep -v grep | grep -E "hangar-agent|sshd" || true');
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^hangar +\/\.hangar\/bin\/hangar-agent serve/m);
    assert.doesNotMatch(r.out, /sshd/);
  });

  it('Jupyter (started by the init script in the guest) answers through the gateway', async () => {
    const base = `${d.url}/api/v1/environments/${envId}/jupyter`;
    let status = 0;
    // Under TCG the notebook server takes a while to import itself after boot.
    for (let i = 0; i < 600 && status !== 200; i++) {
      status = await fetch(`${base}/api/status`, { headers: { authorization: `Bearer ${d.token}` } }).then(
        (r) => r.status,
        () => 0,
      );
      if (status !== 200) await new Promise((r) => setTimeout(r, 1000));
    }
    const log = status === 200 ? '' : (await ssh.ssh(ENV, 'tail -20 /tmp/jupyter.log')).out;
    assert.equal(status, 200, log);
  });

  agentAccessTests(
    () => ({
      ssh,
      env: ENV,
      httpServer: (p) =>
        `cd "$(mktemp -d)" && echo hangar-L >marker-hangar-L.txt && exec python3 -m http.server ${p} --bind 127.0.0.1`,
      httpGet: (u) =>
        `python3 -c 'import urllib.request,sys; sys.stdout.write(urllib.request.urlopen("${u}").read().decode())'`,
    }),
    { python: true },
  );
});
