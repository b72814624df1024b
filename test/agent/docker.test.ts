// hangar-agent on Docker, with the real OpenSSH client through the gateway's tunnel: an image with python3 and
// Jupyter but no sshd, a busybox-only image (no passwd, no useradd), an image whose own sshd still serves with
// ssh_server image, and another user who can't reach any of them.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import WebSocket from 'ws';
import { HangarClient } from '../../common/client';
import { Cli } from '../helpers/cli';
import { startDaemon, type TestDaemon } from '../helpers/daemon';
import { docker, SSH_IMAGE } from '../helpers/docker';
import { tmpDir } from '../helpers/tmp';
import { AGENT_BINARY, AGENT_BUSYBOX_IMAGE, AGENT_PYTHON_IMAGE, OpenSsh } from './openssh';
import { agentAccessTests } from './suite';

const id = Date.now().toString(36);
const PY = `agpy-${id}`;
const BB = `agbb-${id}`;
const IMG = `agimg-${id}`;

describe('agent: hangar-agent in Docker envs, through the tunnel with OpenSSH', function () {
  this.timeout(300_000);
  let d: TestDaemon;
  let ssh: OpenSsh;
  const ids: string[] = [];
  const envIds: Record<string, string> = {};

  before(async () => {
    assert.ok(fs.existsSync(AGENT_BINARY), `${AGENT_BINARY} is missing: run bash scripts/build-native.sh`);
    d = await startDaemon();
    const cli = new Cli(d.url);
    await cli.login(d.token);
    ssh = new OpenSsh(cli, d.url);
    await ssh.configure();
    const make = async (name: string, image: string, extra: Record<string, unknown> = {}) => {
      const env = await d.admin.createEnvironment({
        name,
        image,
        image_pull_policy: 'never',
        environment_type: 'terminal',
        env_vars: { HANGAR_AGENT_T: 'two words' },
        ...extra,
      });
      ids.push(env.id);
      envIds[name] = env.id;
      return env;
    };
    await make(PY, AGENT_PYTHON_IMAGE, { environment_type: 'ide' });
    await make(BB, AGENT_BUSYBOX_IMAGE);
    await make(IMG, SSH_IMAGE, { ssh_server: 'image' });
    for (const e of ids) await d.admin.waitFor(e, ['running']);
  });
  after(async () => {
    for (const e of ids) await d.admin.deleteEnvironment(e).catch(() => undefined);
    await d?.close();
  });

  it('the env records ssh_server (agent by default) and the image has no sshd', async () => {
    assert.equal((await d.admin.getEnvironment(PY)).ssh_server, 'agent');
    assert.equal((await d.admin.getEnvironment(IMG)).ssh_server, 'image');
    const r = await ssh.ssh(
      PY,
      'test ! -e /usr/sbin/sshd && cat /proc/1/cmdline | tr "\\0" " "; echo; ps -eo user,args',
    );
    assert.equal(r.code, 0, r.err);
    // The agent serves as the login user (it dropped root after binding port 22).
    assert.match(r.out, /^hangar +\/\.hangar\/bin\/hangar-agent serve/m);
  });

  describe('python3 + Jupyter image without openssh-server', () => {
    agentAccessTests(
      () => ({
        ssh,
        env: PY,
        httpServer: (p) =>
          `cd "$(mktemp -d)" && echo hangar-L >marker-hangar-L.txt && exec python3 -m http.server ${p} --bind 127.0.0.1`,
        httpGet: (u) =>
          `python3 -c 'import urllib.request,sys; sys.stdout.write(urllib.request.urlopen("${u}").read().decode())'`,
      }),
      { python: true },
    );

    it('Jupyter runs (started by the init script) and answers through the gateway', async () => {
      const base = `${d.url}/api/v1/environments/${envIds[PY]}/jupyter`;
      const auth = { authorization: `Bearer ${d.token}` };
      let status = 0;
      for (let i = 0; i < 180 && status !== 200; i++) {
        status = await fetch(`${base}/api/status`, { headers: auth }).then(
          (r) => r.status,
          () => 0,
        );
        if (status !== 200) await new Promise((r) => setTimeout(r, 500));
      }
      assert.equal(status, 200);
    });

    it("agent forwarding (ssh -A): the env reaches the client's ssh-agent through SSH_AUTH_SOCK", async () => {
      const sock = path.join(tmpDir('agent-fwd-'), 'agent.sock');
      const agent = spawn('ssh-agent', ['-D', '-a', sock], { stdio: 'ignore' });
      try {
        for (let i = 0; i < 50 && !fs.existsSync(sock); i++) await new Promise((r) => setTimeout(r, 100));
        execFileSync('ssh-add', ['-q', path.join(ssh.cli.configDir, 'id_ed25519')], {
          env: { ...process.env, SSH_AUTH_SOCK: sock },
        });
        // SSH_AGENTC_REQUEST_IDENTITIES (11) → SSH_AGENT_IDENTITIES_ANSWER (12) with one key: the key ssh-add loaded.
        const ask =
          'import os,socket,struct; s=socket.socket(socket.AF_UNIX); s.connect(os.environ["SSH_AUTH_SOCK"]); ' +
          's.sendall(struct.pack(">IB",1,11)); h=s.recv(9); print(h[4], struct.unpack(">I",h[5:9])[0])';
        const r = await ssh.run('ssh', ['-A', ssh.alias(PY), `python3 -c '${ask}'`], { env: { SSH_AUTH_SOCK: sock } });
        assert.equal(r.code, 0, r.err);
        assert.equal(r.out.trim(), '12 1');
      } finally {
        agent.kill();
      }
    });

    it('the agent reports its open sessions by kind', async () => {
      const held = ssh.spawn(['-N', ssh.alias(PY)]);
      try {
        await new Promise((r) => setTimeout(r, 3000));
        const r = await ssh.ssh(PY, '/.hangar/bin/hangar-agent status');
        assert.equal(r.code, 0, r.err);
        const st = JSON.parse(r.out) as { sessions: Record<string, number>; connections: number };
        assert.equal(st.sessions.exec, 1);
        assert.ok(st.connections >= 2, r.out);
      } finally {
        held.kill();
      }
    });
  });

  it('the gateway hears of sessions that bypass it (a login straight to the container): by kind, as activity', async () => {
    const name = `agod-${id}`;
    const env = await d.admin.createEnvironment({
      name,
      image: AGENT_BUSYBOX_IMAGE,
      image_pull_policy: 'never',
      environment_type: 'terminal',
      lifecycle_policy: 'on_demand',
    });
    ids.push(env.id);
    const running = await d.admin.waitFor(env.id, ['running']);
    const ip = (
      await docker('inspect', '-f', '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}', running.backend_ref!)
    ).trim();
    const deadline = async () => Date.parse((await d.admin.getEnvironment(env.id)).next_action!.at!);
    const tick = () => d.server.envs.autopilot.tick();
    const before = await deadline();
    // Not through the tunnel: the gateway sees no connection, only the agent knows.
    const direct = spawn('ssh', [
      ...['-i', path.join(ssh.cli.configDir, 'id_ed25519'), '-o', 'BatchMode=yes'],
      ...['-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', `hangar@${ip}`, 'sleep 120'],
    ]);
    try {
      let seen;
      for (let i = 0; i < 100 && !seen?.agent?.sessions.exec; i++) {
        await new Promise((r) => setTimeout(r, 200));
        seen = await d.admin.activity(env.id);
      }
      assert.equal(seen!.agent!.sessions.exec, 1, JSON.stringify(seen));
      assert.equal(seen!.agent!.connections, 1);
      assert.deepEqual(seen!.gateway, {});
      await new Promise((r) => setTimeout(r, 1100));
      await tick();
      const during = await deadline();
      assert.ok(during > before, `the idle deadline moved on (${before} → ${during})`);
      direct.kill();
      for (let i = 0; i < 100 && (await d.admin.activity(env.id)).agent?.sessions.exec; i++)
        await new Promise((r) => setTimeout(r, 200));
      await new Promise((r) => setTimeout(r, 1100));
      await tick();
      assert.equal(
        await deadline(),
        during,
        'with nothing open, the deadline stays: ' + JSON.stringify(await d.admin.activity(env.id)),
      );
    } finally {
      direct.kill();
    }
  });

  describe('busybox-only image (no /etc/passwd, no useradd)', () => {
    it('the login user was appended to /etc/passwd and /etc/group, with a home', async () => {
      const r = await ssh.ssh(BB, 'grep "^hangar:" /etc/passwd /etc/group; echo "$HOME"; pwd');
      assert.equal(r.code, 0, r.err);
      assert.match(r.out, /\/etc\/passwd:hangar:x:1000:1000::\/home\/hangar:\/bin\/sh/);
      assert.match(r.out, /\/etc\/group:hangar:x:1000:/);
      assert.match(r.out, /^\/home\/hangar\n\/home\/hangar\n?$/m);
    });

    agentAccessTests(() => ({
      ssh,
      env: BB,
      httpServer: (p) => `cd "$(mktemp -d)" && echo hangar-L >marker-hangar-L.txt && exec httpd -f -p 127.0.0.1:${p}`,
      httpGet: (u) => `wget -qO- ${u}`,
      cols: 'set -- $(stty size); echo $2',
    }));
  });

  it("ssh_server image: the image's own sshd answers as before", async () => {
    const r = await ssh.ssh(IMG, 'ps -eo args | grep -c "^/usr/sbin/sshd"; id -un');
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(r.out.trim().split('\n').slice(-1), ['hangar']);
  });

  it('the same agent version is not copied again into an image that has it', async () => {
    const image = `hangar-test/agent-committed-${id}`;
    const ref = (await d.admin.getEnvironment(BB)).backend_ref!;
    await docker('commit', ref, `${image}:latest`);
    try {
      const before = await docker(
        'run',
        '--rm',
        '--entrypoint',
        '/bin/stat',
        image,
        '-c',
        '%Y',
        '/.hangar/bin/hangar-agent',
      );
      const env = await d.admin.createEnvironment({
        name: `agcm-${id}`,
        image,
        image_pull_policy: 'never',
        environment_type: 'terminal',
      });
      ids.push(env.id);
      await d.admin.waitFor(env.id, ['running']);
      await new Promise((r) => setTimeout(r, 1100));
      const r = await ssh.ssh(`agcm-${id}`, 'stat -c %Y /.hangar/bin/hangar-agent');
      assert.equal(r.code, 0, r.err);
      assert.equal(r.out.trim(), before.trim(), 'the binary is the committed one (an archive copy would be new)');
    } finally {
      await d.admin.deleteEnvironment(`agcm-${id}`).catch(() => undefined);
      await docker('rmi', '-f', `${image}:latest`).catch(() => undefined);
    }
  });

  it("another, non-admin user can't see or tunnel to these envs (404)", async () => {
    const { token } = await d.admin.createUser(`agbob${id}`);
    const bob = new HangarClient({ url: d.url, token });
    await assert.rejects(bob.connection(envIds[PY]), (e: { status?: number }) => e.status === 404);
    await assert.rejects(bob.activity(envIds[PY]), (e: { status?: number }) => e.status === 404);
    const status = await new Promise<number>((resolve) => {
      const ws = new WebSocket(`${d.url.replace(/^http/, 'ws')}/api/v1/environments/${envIds[PY]}/tunnel?port=22`, {
        headers: { authorization: `Bearer ${token}` },
      });
      ws.on('unexpected-response', (_q, res) => resolve(res.statusCode ?? 0));
      ws.on('open', () => {
        ws.close();
        resolve(101);
      });
      ws.on('error', () => resolve(-1));
    });
    assert.equal(status, 404);
  });
});
