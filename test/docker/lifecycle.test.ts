// The Docker backend end to end: real dockerd, real containers, real OpenSSH through the daemon's tunnel.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import WebSocket from 'ws';
import { HangarClient } from '../../common/client';
import type { EnvEvent } from '../../common/model';
import { generateEd25519 } from '../../common/sshkeys';
import { Cli } from '../helpers/cli';
import { startDaemon, type TestDaemon } from '../helpers/daemon';
import { containersWith, docker, inspect, SSH_IMAGE } from '../helpers/docker';
import { apiError } from '../helpers/apiError';

describe('docker: environment lifecycle', function () {
  this.timeout(180_000);
  let d: TestDaemon;
  let cli: Cli;
  let gatewayLabel: string;
  const events: EnvEvent[] = [];
  let ws: WebSocket;

  before(async () => {
    d = await startDaemon();
    gatewayLabel = `dev.hangar.gateway=${fs.readFileSync(path.join(d.dataDir, 'gateway.id'), 'utf8').trim()}`;
    cli = new Cli(d.url);
    await cli.login(d.token);
    ws = new WebSocket(`${d.url.replace('http', 'ws')}/api/v1/events`, {
      headers: { authorization: `Bearer ${d.token}` },
    });
    ws.on('message', (m) => events.push(JSON.parse(m.toString())));
    await new Promise((r) => ws.once('open', r));
  });
  after(async () => {
    ws?.close();
    for (const e of (await d?.admin.listEnvironments()) ?? [])
      await d.admin.deleteEnvironment(e.id).catch(() => undefined);
    await d?.close();
  });

  it('creates a hardened container with limits, env vars, ports on 127.0.0.1 and a volume', async () => {
    const r = await cli.run([
      '--json',
      'create',
      'box',
      '--image',
      SSH_IMAGE,
      '--pull',
      'never',
      '--type',
      'terminal',
      '--cpu',
      '0.5',
      '--memory',
      '256',
      '-e',
      'GREETING=hello world',
      '-p',
      '8080',
      '-v',
      `hangar-test-vol-${Date.now()}:/data`,
    ]);
    assert.equal(r.code, 0, r.stderr);
    const env = JSON.parse(r.stdout);
    assert.equal(env.status, 'running');
    const c = await inspect(env.backend_ref);
    assert.equal(c.HostConfig.NanoCpus, 5e8);
    assert.equal(c.HostConfig.Memory, 256 * 1024 * 1024);
    assert.equal(c.HostConfig.Privileged, false);
    assert.deepEqual(c.HostConfig.SecurityOpt, ['no-new-privileges:true']);
    assert.deepEqual(c.HostConfig.CapDrop, ['ALL']);
    assert.ok(c.Config.Env.includes('GREETING=hello world'));
    assert.equal(c.HostConfig.PortBindings['8080/tcp'][0].HostIp, '127.0.0.1');
    assert.equal(c.NetworkSettings.Ports['8080/tcp'][0].HostIp, '127.0.0.1');
    assert.equal(c.Mounts.find((m: any) => m.Destination === '/data').Type, 'volume');
    assert.equal(c.Config.Labels['dev.hangar.env-id'], env.id);
    // Its own host key, not baked into the image.
    const key = await docker('exec', env.backend_ref, 'cat', '/.hangar/ssh_host_ed25519_key.pub');
    assert.equal(key.split(' ').slice(0, 2).join(' '), env.host_key.split(' ').slice(0, 2).join(' '));
    assert.equal(
      await docker(
        'run',
        '--rm',
        '--entrypoint',
        '/bin/sh',
        SSH_IMAGE,
        '-c',
        'ls /etc/ssh/ssh_host_* 2>/dev/null | wc -l',
      ),
      '0',
    );
  });

  it('ssh through the tunnel with the real OpenSSH client, host key pinned (StrictHostKeyChecking yes)', async () => {
    const r = await cli.run([
      'ssh',
      'box',
      '--',
      'id -un; echo "$GREETING"; hostname; touch /data/ok && echo writable',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.stdout.trim().split('\n'), ['hangar', 'hello world', 'box', 'writable']);
    const kh = fs.readFileSync(path.join(cli.configDir, 'known_hosts'), 'utf8');
    assert.match(kh, /^hangar\.127\.0\.0\.1-\d+--box ssh-ed25519 /m);
  });

  it('ssh-config prints the managed block (the extension writes the same), ssh -F uses it, a wrong pinned key is refused', async () => {
    const block = (await cli.run(['ssh-config', 'box'])).stdout;
    const cfgFile = path.join(cli.configDir, 'ssh_config');
    fs.writeFileSync(cfgFile, block);
    const alias = /^Host (hangar\.\S+--)\*$/m.exec(block)![1] + 'box';
    assert.match(block, /^# --- START HANGAR 127\.0\.0\.1-\d+ ---$/m);
    const { execFile } = await import('node:child_process');
    const ssh = (args: string[]) =>
      new Promise<{ code: number; out: string }>((resolve) => {
        execFile(
          'ssh',
          ['-F', cfgFile, ...args],
          { env: { ...process.env, HANGAR_CONFIG_DIR: cli.configDir } },
          (e, out, se) => resolve({ code: e ? Number(e.code) : 0, out: out + se }),
        );
      });
    const ok = await ssh([alias, 'echo via-F']);
    assert.equal(ok.out.trim(), 'via-F');
    // --write merges the same block into an existing config, keeping the user's lines.
    const userCfg = path.join(cli.configDir, 'user_config');
    fs.writeFileSync(userCfg, 'Host mine\n  HostName 127.0.0.3\n', { mode: 0o640 });
    const w = await cli.run(['ssh-config', '--write', userCfg]);
    assert.equal(w.code, 0, w.stderr);
    const merged = fs.readFileSync(userCfg, 'utf8');
    assert.ok(merged.startsWith('Host mine\n  HostName 127.0.0.3\n'));
    assert.ok(merged.includes(block.trim()));
    assert.equal(fs.statSync(userCfg).mode & 0o777, 0o640);
    // Tamper with the pinned key: ssh must refuse. (The proxy re-pins from the API only for aliases it knows.)
    const kh = path.join(cli.configDir, 'known_hosts');
    const other = generateEd25519('x').publicKey;
    fs.writeFileSync(kh, `${alias} ${other}\n`);
    fs.writeFileSync(
      cfgFile,
      block.replace(
        /ProxyCommand .*/,
        `ProxyCommand ${process.execPath} ${path.resolve('dist/hangar.js')} proxy --url ${d.url} box`,
      ),
    );
    const bad = await ssh([alias, 'true']);
    assert.notEqual(bad.code, 0);
    assert.match(bad.out, /REMOTE HOST IDENTIFICATION HAS CHANGED|Host key verification failed/);
  });

  it('logs: tail and follow', async () => {
    const r = await cli.run(['logs', 'box', '--tail', '50']);
    // The env's SSH server is hangar-agent by default (ssh_server: agent); sshd says the same in its own words.
    assert.match(r.stdout, /Server listening on|serving SSH on/);
    const ac = new AbortController();
    const body = await d.admin.logs('box', { follow: true, tail: 0, signal: ac.signal });
    const reader = body.getReader();
    const seen = (async () => {
      let text = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return text;
        text += Buffer.from(value).toString();
        if (/Accepted publickey/.test(text)) return text;
      }
    })();
    await cli.run(['ssh', 'box', '--', 'true']);
    assert.match(await seen, /Accepted publickey for hangar/);
    ac.abort();
  });

  it('stop, start and restart keep the container and its host key', async () => {
    const before = await d.admin.getEnvironment('box');
    assert.equal((await cli.run(['stop', 'box'])).code, 0);
    assert.equal((await inspect(before.backend_ref!)).State.Running, false);
    assert.equal((await d.admin.getEnvironment('box')).status, 'stopped');
    const refused = await cli.run(['ssh', 'box', '--', 'true']);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /is stopped; start it first/);
    assert.equal((await cli.run(['start', 'box'])).code, 0);
    assert.equal((await cli.run(['restart', 'box'])).code, 0);
    const after = await d.admin.getEnvironment('box');
    assert.equal(after.backend_ref, before.backend_ref);
    assert.equal(after.host_key, before.host_key);
    assert.equal((await cli.run(['ssh', 'box', '--', 'cat /data/ok && echo kept'])).stdout.trim(), 'kept');
    const statuses = events
      .filter((e) => e.environment_id === before.id && e.type === 'environment.status')
      .map((e) => e.status);
    assert.deepEqual(statuses.slice(-6), ['stopping', 'stopped', 'starting', 'running', 'starting', 'running']);
  });

  it('a new SSH key reaches the running environment', async () => {
    const pair = generateEd25519('new-laptop');
    const keyFile = path.join(cli.configDir, 'laptop');
    fs.writeFileSync(keyFile, pair.privateKey, { mode: 0o600 });
    fs.writeFileSync(keyFile + '.pub', pair.publicKey + '\n');
    assert.equal((await cli.run(['keys', 'add', keyFile + '.pub', '--name', 'laptop'])).code, 0);
    const env = await d.admin.getEnvironment('box');
    assert.match(
      await docker('exec', env.backend_ref!, 'cat', '/.hangar/authorized_keys'),
      new RegExp(pair.publicKey.split(' ')[1].replace(/[+/]/g, '\\$&')),
    );
    // Only the new key is offered: the CLI's own key is not used here.
    const conn = await d.admin.connection('box');
    const { execFile } = await import('node:child_process');
    const out = await new Promise<string>((resolve, reject) =>
      execFile(
        'ssh',
        [
          '-o',
          `ProxyCommand=${process.execPath} ${path.resolve('dist/hangar.js')} proxy --url ${d.url} %n`,
          '-o',
          `UserKnownHostsFile=${path.join(cli.configDir, 'known_hosts')}`,
          '-o',
          'StrictHostKeyChecking=yes',
          '-o',
          'IdentitiesOnly=yes',
          '-i',
          keyFile,
          '-l',
          conn.ssh.user,
          conn.ssh.host_alias,
          'echo new-key',
        ],
        { env: { ...process.env, HANGAR_CONFIG_DIR: cli.configDir } },
        (e, so, se) => (e ? reject(new Error(se)) : resolve(so)),
      ),
    );
    assert.equal(out.trim(), 'new-key');
  });

  it('another user sees 404 for my environment; an admin sees all', async () => {
    const { token } = await d.admin.createUser('bob');
    const bob = new HangarClient({ url: d.url, token });
    assert.equal((await apiError(bob.getEnvironment('box'))).status, 404);
    const env = await d.admin.getEnvironment('box');
    assert.equal((await apiError(bob.getEnvironment(env.id))).status, 404);
    assert.equal((await apiError(bob.action(env.id, 'stop'))).status, 404);
    assert.equal((await apiError(bob.deleteEnvironment(env.id))).status, 404);
    assert.deepEqual(await bob.listEnvironments(), []);
    const tunnel = new WebSocket(`${d.url.replace('http', 'ws')}/api/v1/environments/${env.id}/tunnel?port=22`, {
      headers: { authorization: `Bearer ${token}` },
    });
    assert.equal(await new Promise((r) => tunnel.on('unexpected-response', (_q, res) => r(res.statusCode))), 404);
    // Bob's own env with the same name is fine.
    const mine = await bob.createEnvironment({
      name: 'box',
      image: SSH_IMAGE,
      image_pull_policy: 'never',
      environment_type: 'terminal',
    });
    await bob.waitFor(mine.id, ['running']);
    assert.equal((await d.admin.listEnvironments()).length, 2);
    await bob.deleteEnvironment(mine.id);
  });

  it('bad input gets 400 and leaves no container', async () => {
    const before = await containersWith(gatewayLabel);
    for (const body of [
      { name: 'a/b', image: SSH_IMAGE },
      { name: '../x', image: SSH_IMAGE },
      { name: 'a b', image: SSH_IMAGE },
      { name: 'x'.repeat(300), image: SSH_IMAGE },
      { name: 'ok', image: SSH_IMAGE, gpu_mode: 'quantum' },
      { name: 'ok', image: SSH_IMAGE, cpu: -1 },
    ]) {
      assert.equal((await apiError(d.admin.createEnvironment(body as any))).status, 400);
    }
    const r = await cli.run(['create', 'a/b', '--image', SSH_IMAGE]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /name/);
    assert.deepEqual(await containersWith(gatewayLabel), before);
  });

  it('image pull policies: never → 422 before anything is written; unavailable image → failed with the reason, no container', async () => {
    const e = await apiError(
      d.admin.createEnvironment({ name: 'ghost', image: 'hangar-test/absent:1', image_pull_policy: 'never' }),
    );
    assert.equal(e.status, 422);
    assert.match(e.message, /image 'hangar-test\/absent:1' is not present on backend 'local'/);
    const env = await d.admin.createEnvironment({ name: 'ghost', image: 'hangar-test/absent:1' });
    const r = await apiError(d.admin.waitFor(env.id, ['running']));
    assert.match(r.message, /could not be pulled on backend 'local'/);
    assert.deepEqual(await containersWith(`dev.hangar.env-id=${env.id}`), []);
    await d.admin.deleteEnvironment(env.id);
  });

  it('a GPU request on a host without GPUs is refused with the reason, and nothing is made', async () => {
    const before = await containersWith(gatewayLabel);
    const e = await apiError(
      d.admin.createEnvironment({
        name: 'gpu',
        image: SSH_IMAGE,
        image_pull_policy: 'never',
        gpu_mode: 'exclusive',
        gpu_device_ids: ['GPU-0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0'],
      }),
    );
    assert.equal(e.status, 409);
    assert.match(e.message, /not a whole GPU known on backend 'local'/);
    const e2 = await apiError(
      d.admin.createEnvironment({
        name: 'gpu',
        image: SSH_IMAGE,
        image_pull_policy: 'never',
        gpu_mode: 'exclusive',
        gpu_count: 1,
      }),
    );
    assert.match(e2.message, /need 1× GPU on backend 'local'; no GPUs in the inventory/);
    assert.equal((await apiError(d.admin.getEnvironment('gpu'))).status, 404);
    assert.deepEqual(await containersWith(gatewayLabel), before);
  });

  it('delete removes the container; a second delete is 404', async () => {
    const env = await d.admin.getEnvironment('box');
    assert.equal((await cli.run(['rm', 'box'])).code, 0);
    assert.deepEqual(await containersWith(`dev.hangar.env-id=${env.id}`), []);
    assert.equal((await cli.run(['rm', 'box'])).code, 4);
    assert.ok(events.some((e) => e.type === 'environment.deleted' && e.environment_id === env.id));
  });
});
