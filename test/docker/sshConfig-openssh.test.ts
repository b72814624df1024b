// The managed SSH config block as the real OpenSSH client reads it: `ssh -F <file> <alias>` reaches the env through
// `hangar proxy` with the host key pinned, the user's own hosts keep working, and findOverrides agrees with `ssh -G`.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { HangarClient } from '../../common/client';
import { sshAlias } from '../../common/names';
import {
  findOverrides,
  gatewayHostPattern,
  renderBlock,
  shellCommand,
  writeManagedBlock,
} from '../../common/sshConfig';
import { Cli } from '../helpers/cli';
import { startDaemon, type TestDaemon } from '../helpers/daemon';
import { SSH_IMAGE } from '../helpers/docker';
import { tmpDir } from '../helpers/tmp';

const USER_CONTENT = "# my own settings, not Hangar's\nHost other\n  HostName 127.0.0.9\n  Port 2222\n";

describe('docker: managed ssh config block with OpenSSH', function () {
  this.timeout(180_000);
  let d: TestDaemon;
  let cli: Cli;
  let envId: string;
  const envName = `sshcfg-${Date.now().toString(36)}`;

  const ssh = (args: string[]) =>
    new Promise<{ code: number; out: string; err: string }>((resolve) => {
      // The proxy finds its login through HANGAR_CONFIG_DIR, as the extension's bundled CLI would through its own.
      execFile(
        'ssh',
        args,
        {
          env: { ...process.env, HANGAR_CONFIG_DIR: cli.configDir, HANGAR_URL: '', HANGAR_TOKEN: '' },
          timeout: 60_000,
        },
        (e, out, err) => resolve({ code: e ? (typeof e.code === 'number' ? e.code : 1) : 0, out, err }),
      );
    });
  /** `ssh -G`: the settings ssh would use for a host, without connecting. */
  const effective = async (file: string, host: string) => {
    const r = await ssh(['-G', '-F', file, host]);
    assert.equal(r.code, 0, r.err);
    const m = new Map<string, string>();
    for (const l of r.out.split('\n')) {
      const i = l.indexOf(' ');
      if (i > 0 && !m.has(l.slice(0, i))) m.set(l.slice(0, i), l.slice(i + 1));
    }
    return m;
  };
  const blockFor = (extra: { envs?: { alias: string; user: string }[] } = {}) =>
    renderBlock({
      gatewayUrl: d.url,
      proxyCommand: shellCommand([process.execPath, path.resolve('dist/hangar.js')]),
      knownHostsFile: path.join(cli.configDir, 'known_hosts'),
      identityFile: path.join(cli.configDir, 'id_ed25519'),
      ...extra,
    });

  before(async () => {
    assert.ok(fs.existsSync('dist/hangar.js'), 'dist/hangar.js is missing: run node scripts/bundle.mjs');
    d = await startDaemon();
    cli = new Cli(d.url);
    await cli.login(d.token);
    const env = await d.admin.createEnvironment({
      name: envName,
      image: SSH_IMAGE,
      image_pull_policy: 'never',
      environment_type: 'terminal',
    });
    envId = env.id;
    await d.admin.waitFor(env.id, ['running']);
  });
  after(async () => {
    if (envId) await d.admin.deleteEnvironment(envId).catch(() => undefined);
    await d?.close();
  });

  it('ssh -F <file> <alias> runs a command in the env through the written block, host key pinned', async () => {
    const file = path.join(tmpDir(), 'config');
    fs.writeFileSync(file, USER_CONTENT, { mode: 0o644 });
    const r = await writeManagedBlock(file, d.url, blockFor());
    assert.deepEqual(r, { changed: true, warnings: [] });
    const content = fs.readFileSync(file, 'utf8');
    assert.ok(content.startsWith(USER_CONTENT + '\n'), 'user lines intact, block after them');

    const alias = sshAlias(d.url, envName);
    const cfg = await effective(file, alias);
    assert.equal(cfg.get('stricthostkeychecking'), 'true');
    assert.equal(cfg.get('user'), 'hangar');
    assert.match(cfg.get('proxycommand') ?? '', / proxy --url http:\/\/127\.0\.0\.1:\d+ %n$/);

    const run = await ssh(['-F', file, '-o', 'BatchMode=yes', alias, 'echo ok; hostname']);
    assert.equal(run.code, 0, run.err);
    assert.deepEqual(run.out.trim().split('\n'), ['ok', envName]);
    // The proxy pinned the env's key under the alias before ssh checked it.
    assert.match(
      fs.readFileSync(path.join(cli.configDir, 'known_hosts'), 'utf8'),
      new RegExp(`^${alias.replace(/\./g, '\\.')} ssh-ed25519 `, 'm'),
    );

    // The user's own host is untouched by the block: no proxy, its own HostName and Port.
    const other = await effective(file, 'other');
    assert.equal(other.get('hostname'), '127.0.0.9');
    assert.equal(other.get('port'), '2222');
    assert.equal(other.get('proxycommand'), undefined);
  });

  it("a per-env Host block inside the managed block sets that env's user; removal restores the file", async () => {
    const file = path.join(tmpDir(), 'config');
    fs.writeFileSync(file, USER_CONTENT);
    const alias = sshAlias(d.url, envName);
    await writeManagedBlock(file, d.url, blockFor());
    await writeManagedBlock(file, d.url, blockFor({ envs: [{ alias: sshAlias(d.url, 'rooty'), user: 'root' }] }));
    assert.equal((await effective(file, sshAlias(d.url, 'rooty'))).get('user'), 'root');
    assert.equal((await effective(file, sshAlias(d.url, 'rooty'))).get('stricthostkeychecking'), 'true');
    assert.equal((await effective(file, alias)).get('user'), 'hangar');
    // Still connects after the in-place replacement.
    const run = await ssh(['-F', file, '-o', 'BatchMode=yes', alias, 'echo again']);
    assert.equal(run.code, 0, run.err);
    assert.equal(run.out.trim(), 'again');
    assert.equal((await writeManagedBlock(file, d.url, null)).changed, true);
    assert.equal(fs.readFileSync(file, 'utf8'), USER_CONTENT);
  });

  it('findOverrides agrees with ssh -G about which earlier user settings win', async () => {
    const alias = sshAlias(d.url, envName);
    const cases = [
      'Host *\n  User someone\n',
      'Host !hangar.* *\n  User someone\n',
      'Host hangar.*\n  User someone\n',
      'Host HANGAR.*\n  User someone\n',
      'Host other hangar.1*\n  User someone\n',
      'Match all\n  User someone\n',
      'Match host HANGAR.*\n  User someone\n',
      'Match host *,!hangar.*\n  User someone\n',
      'Match !host hangar.*\n  User someone\n',
      'Match originalhost hangar.127.0.0.1-*\n  User someone\n',
      'User someone\n',
      '\n',
    ];
    for (const before of cases) {
      const file = path.join(tmpDir(), 'config');
      fs.writeFileSync(file, before);
      const { warnings } = await writeManagedBlock(file, d.url, blockFor());
      const sshSaysOverridden = (await effective(file, alias)).get('user') === 'someone';
      assert.equal(
        findOverrides(fs.readFileSync(file, 'utf8'), alias).length > 0,
        sshSaysOverridden,
        `case ${JSON.stringify(before)}`,
      );
      assert.equal(
        warnings.length > 0,
        sshSaysOverridden,
        `wildcard case ${JSON.stringify(before)}: ${gatewayHostPattern(d.url)}`,
      );
    }
  });

  it('HANGAR_URL + HANGAR_TOKEN and no login: hangar ssh and ssh through ssh-config make and register the key', async () => {
    const user = await d.admin.createUser(`script-${Date.now().toString(36)}`, 'user');
    const scripted = new Cli(d.url);
    const env = { HANGAR_URL: d.url, HANGAR_TOKEN: user.token };
    const mine = await new HangarClient({ url: d.url, token: user.token }).createEnvironment({
      name: `${envName}-s`,
      image: SSH_IMAGE,
      image_pull_policy: 'never',
      environment_type: 'terminal',
    });
    try {
      await d.admin.waitFor(mine.id, ['running']);
      const viaCli = await scripted.run(['ssh', mine.name, '--', 'echo', 'scripted'], { env });
      assert.equal(viaCli.code, 0, viaCli.stderr);
      assert.equal(viaCli.stdout.trim(), 'scripted');
      assert.ok(fs.existsSync(path.join(scripted.configDir, 'id_ed25519')), 'the CLI made its key');
      const keys = await new HangarClient({ url: d.url, token: user.token }).listKeys();
      assert.equal(keys.length, 1, 'registered once, not once per ssh');
      const again = await scripted.run(['ssh', mine.name, '--', 'true'], { env });
      assert.equal(again.code, 0, again.stderr);
      assert.equal((await new HangarClient({ url: d.url, token: user.token }).listKeys()).length, 1);

      const fresh = new Cli(d.url);
      const file = path.join(tmpDir(), 'config');
      const w = await fresh.run(['ssh-config', '--write', file], { env });
      assert.equal(w.code, 0, w.stderr);
      assert.match(fs.readFileSync(file, 'utf8'), /IdentityFile /);
      const run = await new Promise<{ code: number; out: string; err: string }>((resolve) => {
        execFile(
          'ssh',
          ['-F', file, '-o', 'BatchMode=yes', sshAlias(d.url, mine.name), 'echo via-config'],
          { env: { ...process.env, HANGAR_CONFIG_DIR: fresh.configDir, ...env }, timeout: 60_000 },
          (e, out, err) => resolve({ code: e ? (typeof e.code === 'number' ? e.code : 1) : 0, out, err }),
        );
      });
      assert.equal(run.code, 0, run.err);
      assert.equal(run.out.trim(), 'via-config');
    } finally {
      await d.admin.deleteEnvironment(mine.id).catch(() => undefined);
    }
  });
});
