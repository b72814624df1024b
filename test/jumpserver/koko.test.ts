// Connecting through JumpServer with the real OpenSSH client: the managed SSH config sends a use_jumpserver env to the
// KoKo double (HostName/Port/User jmsuser@account@asset, no ProxyCommand); KoKo logs into the env's SSH endpoint on
// the gateway with the hosted account's key and runs the command in the Docker env; sessions and commands show up in
// GET /environments/:id/sessions; forwarding refused gives the explanation of KoKo's two settings; a connection
// token logs in as JMS-<id>.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Client, utils } from 'ssh2';
import { generateEd25519 } from '../../common/sshkeys';
import { AUTHORIZED_KEYS_PATH } from '../../daemon/contract';
import type { ConnectionInfo, Environment } from '../../common/model';
import { kokoForwardingHint, probeForwarding } from '../../extension/attach/koko';
import { JumpServerApiDouble } from '../doubles/jumpserver-api';
import { KokoDouble } from '../doubles/koko';
import { Cli } from '../helpers/cli';
import { jumpServerYaml, runSsh } from '../helpers/jumpserver';
import { startDaemon, type TestDaemon } from '../helpers/daemon';
import { SSH_IMAGE } from '../helpers/docker';
import { retry } from '../helpers/retry';
import { tmpDir } from '../helpers/tmp';

describe('jumpserver area: real ssh through the KoKo double into a Docker env', function () {
  this.timeout(240_000);
  const api = new JumpServerApiDouble();
  const koko = new KokoDouble(api);
  const dir = tmpDir('hangar-koko-');
  const sshConfig = path.join(dir, 'ssh_config');
  let d: TestDaemon;
  let cli: Cli;
  let env: Environment;
  let conn: ConnectionInfo;

  before(async () => {
    await api.start();
    const port = await koko.start();
    const from = 23000 + (process.pid % 500);
    const yaml = jumpServerYaml({ api, dir, token: 'tok', kokoPort: port, ports: { from, to: 23600 } });
    d = await startDaemon({ configYaml: yaml });
    cli = new Cli(d.url);
    await cli.login(d.token);
    // The JumpServer user's SSH key is the CLI's key (a user's own key in JumpServer).
    const pub = fs.readFileSync(path.join(cli.configDir, 'id_ed25519.pub'), 'utf8').trim();
    api.objects('users').find((u) => u.username === 'admin')!.public_key = pub;
    env = await d.admin.createEnvironment({
      image: SSH_IMAGE,
      image_pull_policy: 'never',
      environment_type: 'terminal',
      name: 'kokoenv',
      use_jumpserver: true,
    });
    await retry(async () => assert.equal((await d.admin.getEnvironment(env.id)).status, 'running'), 120_000);
    conn = await d.admin.connection(env.id);
    const r = await cli.run(['ssh-config', '--write', sshConfig]);
    assert.equal(r.code, 0, r.stderr);
  });
  after(async () => {
    await d?.admin.deleteEnvironment(env?.id).catch(() => undefined);
    await d?.close();
    await koko.stop();
    await api.stop();
  });

  it('connection info has the KoKo route; the managed block sends the alias to KoKo without ProxyCommand', () => {
    assert.equal(conn.jumpserver!.port, koko.port);
    assert.match(conn.jumpserver!.user, /^admin@hangar@hangar-kokoenv-/);
    const text = fs.readFileSync(sshConfig, 'utf8');
    const entry = text.slice(text.indexOf(`Host ${conn.ssh.host_alias}\n`));
    assert.match(entry, new RegExp(`^Host \\S+\\n  HostName 127.0.0.1\\n  Port ${koko.port}\\n  User admin@hangar@`));
    assert.match(entry.split('\nHost ')[0], /ProxyCommand none/);
  });

  it('real ssh through KoKo runs a command in the env; the session and command are recorded', async () => {
    const r = await retry(async () => {
      const x = await runSsh(['-F', sshConfig, '-o', 'BatchMode=yes', conn.ssh.host_alias, 'echo via-koko; hostname']);
      assert.equal(x.code, 0, x.stderr);
      return x;
    }, 30_000);
    assert.match(r.stdout, /^via-koko\n/);
    const sessions = await d.admin.request<{ commands: { input: string }[]; replay_url: string | null }[]>(
      'GET',
      `/api/v1/environments/${env.id}/sessions`,
    );
    assert.ok(sessions.some((s) => s.commands.some((c) => c.input === 'echo via-koko; hostname')));
    assert.ok(sessions[0].replay_url?.includes('/terminal/sessions/'));
    const shown = await cli.run(['sessions', env.name]);
    assert.match(shown.stdout, /\$ echo via-koko; hostname/);
  });

  it('forwarding refused: the probe explains ENABLE_LOCAL_PORT_FORWARD and ENABLE_VSCODE_SUPPORT; allowed: banner', async () => {
    const refused = await probeForwarding({ configFile: sshConfig, alias: conn.ssh.host_alias });
    assert.equal(refused.ok, false);
    assert.ok(!refused.ok && refused.hint);
    assert.match(refused.ok ? '' : refused.hint!, /ENABLE_LOCAL_PORT_FORWARD: true and ENABLE_VSCODE_SUPPORT: true/);
    koko.enableLocalPortForward = koko.enableVscodeSupport = true;
    const ok = await probeForwarding({ configFile: sshConfig, alias: conn.ssh.host_alias });
    assert.deepEqual(ok, { ok: true });
    koko.enableLocalPortForward = koko.enableVscodeSupport = false;
    assert.equal(kokoForwardingHint('debug1: Authentication succeeded'), undefined);
  });

  it("a key the owner adds later keeps the hosted account's key authorized (KoKo still gets in)", async () => {
    const added = generateEd25519('later').publicKey;
    await d.admin.addKey(`later-${Date.now()}`, added);
    const cat = async () => {
      const x = await runSsh([
        '-F',
        sshConfig,
        '-o',
        'BatchMode=yes',
        conn.ssh.host_alias,
        `cat ${AUTHORIZED_KEYS_PATH}`,
      ]);
      assert.equal(x.code, 0, x.stderr);
      return x.stdout;
    };
    // The push of the new authorized_keys is asynchronous: wait for it, then the hosted key must still be there.
    const keys = await retry(async () => {
      const k = await cat();
      assert.ok(k.includes(added.split(' ')[1]), 'new key pushed');
      return k;
    }, 30_000);
    const hosted = api.objects('accounts').find((a) => a.secret_type === 'ssh_key')!;
    const hostedPub = utils.parseKey(hosted.secret) as { getPublicSSH(): Buffer };
    assert.ok(keys.includes(hostedPub.getPublicSSH().toString('base64')), 'hosted key kept');
  });

  it('a connection token logs in as JMS-<id> with its value as the password', async () => {
    const t = await d.admin.request<{ username: string; password: string; port: number }>(
      'POST',
      `/api/v1/environments/${env.id}/connection-token`,
    );
    assert.match(t.username, /^JMS-/);
    assert.equal(t.port, koko.port);
    const out = await new Promise<string>((resolve, reject) => {
      const c = new Client();
      c.on('ready', () =>
        c.exec('echo token-login', (err, ch) => {
          if (err) return reject(err);
          let buf = '';
          ch.on('data', (b: Buffer) => (buf += b.toString()));
          ch.on('close', () => (c.end(), resolve(buf)));
        }),
      );
      c.on('error', reject);
      c.connect({ host: '127.0.0.1', port: t.port, username: t.username, password: t.password });
    });
    assert.equal(out, 'token-login\n');
  });
});
