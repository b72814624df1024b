// The agent's pieces that are pure: the init script's ending per ssh_server, the agent's config, the Kubernetes pod
// additions (init container, restricted profile), the VM seed's copy step, and the config default.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { bootFiles, initScript } from '../../daemon/environments/bootFiles';
import { withAgent } from '../../daemon/backends/kubernetes/agentPod';
import { userData } from '../../daemon/backends/libvirt/cloudInit';
import { loadConfig } from '../../daemon/config';
import type { EnvSpec } from '../../daemon/contract';
import { tmpDir } from '../helpers/tmp';

const boot = (sshServer: 'agent' | 'image') =>
  bootFiles({
    user: 'dev',
    authorizedKeys: 'ssh-ed25519 AAA\n',
    hostPrivateKey: 'k',
    hostPublicKey: 'ssh-ed25519 AAA',
    envVars: { A: 'b c' },
    jupyterToken: null,
    jupyterBaseUrl: '/j/',
    volumeDirs: [],
    sshServer,
    sshPort: 2222,
  });

describe('hangar-agent wiring', () => {
  it('the init script ends in the agent or in sshd, and is valid sh either way', () => {
    const dir = tmpDir();
    for (const s of ['agent', 'image'] as const) {
      const f = path.join(dir, `init-${s}.sh`);
      fs.writeFileSync(f, initScript({ user: 'dev', jupyterBaseUrl: '/j/', volumeDirs: ['/d'], sshServer: s }));
      execFileSync('/bin/sh', ['-n', f]);
      const text = fs.readFileSync(f, 'utf8');
      assert.equal(
        /exec \/\.hangar\/bin\/hangar-agent serve --config \/\.hangar\/agent\.json\n$/.test(text),
        s === 'agent',
      );
      assert.equal(/exec \/usr\/sbin\/sshd -D/.test(text), s === 'image');
      // Any image: useradd, busybox adduser, or passwd lines by hand; nothing of that without root.
      assert.match(text, /useradd -m/);
      assert.match(text, /adduser -D/);
      assert.match(text, /add_user_by_hand/);
    }
  });

  it('agent.json names the login user, the port the backend says, the env vars; only for ssh_server agent', () => {
    const cfg = boot('agent').find((f) => f.role === 'agent_config');
    assert.ok(cfg);
    assert.deepEqual(JSON.parse(String(cfg.content)), {
      user: 'dev',
      listen: ':2222',
      status_keys: [],
      host_key: '/.hangar/ssh_host_ed25519_key',
      authorized_keys: '/.hangar/authorized_keys',
      env: { A: 'b c' },
    });
    assert.ok(!boot('image').some((f) => f.role === 'agent_config'));
  });

  it('Kubernetes: an init container and volume for agent envs; restricted drops root and every capability', () => {
    const template = () => ({
      metadata: {},
      spec: {
        containers: [
          {
            name: 'env',
            ports: [{ containerPort: 22, name: 'ssh' }],
            readinessProbe: { tcpSocket: { port: 22 } },
            securityContext: { capabilities: { add: ['SETUID'], drop: ['ALL'] } },
          },
        ],
        volumes: [],
      },
    });
    const spec = { agent: { version: 'v1', binary: async () => Buffer.alloc(0) } } as unknown as EnvSpec;
    assert.deepEqual(withAgent(template(), { ...spec, agent: undefined }, {}), template());
    assert.throws(() => withAgent(template(), spec, {}), /agent_image/);
    const t = withAgent(template(), spec, { agentImage: 'm/hangar-agent:1', restricted: true, restrictedUid: 1234 });
    assert.equal(t.spec!.initContainers![0].image, 'm/hangar-agent:1');
    assert.equal(t.spec!.securityContext!.runAsUser, 1234);
    assert.deepEqual(t.spec!.containers[0].securityContext!.capabilities, { drop: ['ALL'] });
    assert.equal(t.spec!.containers[0].ports![0].containerPort, 2222);
  });

  it('VM seed: a bootcmd copies the agent from the seed ISO (not base64 in user-data)', () => {
    const u = userData({ hostname: 'h', files: [], command: ['/bin/sh', '/.hangar/init.sh'], agent: true });
    assert.match(u, /mount -o ro \/dev\/disk\/by-label\/cidata \/run\/hangar-seed/);
    assert.match(u, /\/\.hangar\/bin\/hangar-agent/);
    assert.doesNotMatch(userData({ hostname: 'h', files: [], command: ['x'] }), /hangar-seed/);
  });

  it('default_ssh_server: agent unless the config says image', () => {
    assert.equal(loadConfig({ argv: [], env: {} }).default_ssh_server, 'agent');
    const dir = tmpDir();
    fs.writeFileSync(path.join(dir, 'c.yaml'), 'default_ssh_server: image\n');
    assert.equal(loadConfig({ argv: ['--config', path.join(dir, 'c.yaml')], env: {} }).default_ssh_server, 'image');
  });
});
