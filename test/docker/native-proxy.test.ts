// The native `hangar proxy` (native/cmd/hangar-proxy) as the real OpenSSH client runs it: the ProxyCommand the
// extension writes when it bundles the binary, the one `hangar ssh-config` writes beside dist/native, both
// transports, and the CLI's exit codes for refusals (another user's env, a bad token).
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { HangarClient } from '../../common/client';
import { sshAlias } from '../../common/names';
import { nativeProxyPath } from '../../common/nativeProxy';
import { renderBlock } from '../../common/sshConfig';
import { proxyCommand } from '../../extension/attach/remoteUri';
import { Cli } from '../helpers/cli';
import { startDaemon, type TestDaemon } from '../helpers/daemon';
import { SSH_IMAGE } from '../helpers/docker';
import { tmpDir } from '../helpers/tmp';

interface Run {
  code: number;
  out: string;
  err: string;
}

function exec(file: string, args: string[], env: NodeJS.ProcessEnv, input?: string): Promise<Run> {
  return new Promise((resolve) => {
    const child = execFile(file, args, { env, timeout: 60_000, maxBuffer: 64 << 20 }, (e, out, err) =>
      resolve({ code: e ? (typeof e.code === 'number' ? e.code : 1) : 0, out, err }),
    );
    child.stdin!.end(input ?? '');
  });
}

describe('docker: native hangar proxy with OpenSSH', function () {
  this.timeout(600_000);
  let d: TestDaemon;
  let cli: Cli;
  let native: string;
  let envId: string;
  const envName = `nproxy-${Date.now().toString(36)}`;
  const sshEnv = () => ({ ...process.env, HANGAR_CONFIG_DIR: cli.configDir, HANGAR_URL: '', HANGAR_TOKEN: '' });

  /** The block the extension writes: its ProxyCommand names the bundled native proxy and its CLI config dir. */
  const extensionBlock = () =>
    renderBlock({
      gatewayUrl: d.url,
      proxyCommand: proxyCommand({
        execPath: process.execPath,
        electron: false,
        cliScript: path.resolve('dist/hangar.js'),
        configDir: cli.configDir,
        platform: process.platform,
        nativeProxy: native,
      }),
      knownHostsFile: path.join(cli.configDir, 'known_hosts'),
      identityFile: path.join(cli.configDir, 'id_ed25519'),
    });

  before(async () => {
    // Go builds it for this platform only (cached by source hash); a missing Go fails here, never skips.
    execFileSync('bash', ['scripts/build-native.sh', 'hangar-proxy'], {
      env: { ...process.env, HANGAR_NATIVE_TARGETS: `linux/${process.arch === 'arm64' ? 'arm64' : 'amd64'}` },
      stdio: 'inherit',
    });
    native = nativeProxyPath(path.resolve('dist'))!;
    assert.ok(native, 'scripts/build-native.sh built no dist/native/<platform>/hangar-proxy (is Go on PATH?)');
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

  it("the extension's ProxyCommand with the native proxy: ssh runs commands, exit status and pinned key", async () => {
    const file = path.join(tmpDir(), 'config');
    fs.writeFileSync(file, extensionBlock());
    const alias = sshAlias(d.url, envName);
    const g = await exec('ssh', ['-G', '-F', file, alias], sshEnv());
    assert.match(g.out, new RegExp(`^proxycommand ${native.replace(/[.]/g, '\\.')} --config-dir `, 'm'));
    const r = await exec('ssh', ['-F', file, '-o', 'BatchMode=yes', alias, 'echo ok; hostname; exit 7'], sshEnv());
    assert.equal(r.code, 7, r.err);
    assert.deepEqual(r.out.trim().split('\n'), ['ok', envName]);
    assert.match(
      fs.readFileSync(path.join(cli.configDir, 'known_hosts'), 'utf8'),
      new RegExp(`^${alias.replace(/\./g, '\\.')} ssh-ed25519 `, 'm'),
    );
  });

  it('scp both ways through the native proxy, raw and WebSocket transports, bytes intact', async () => {
    const dir = tmpDir();
    const file = path.join(dir, 'config');
    fs.writeFileSync(file, extensionBlock());
    const alias = sshAlias(d.url, envName);
    const blob = path.join(dir, 'blob');
    fs.writeFileSync(blob, crypto.randomBytes(8 << 20));
    for (const transport of ['raw', 'websocket']) {
      const env = { ...sshEnv(), HANGAR_TUNNEL: transport };
      const up = await exec('scp', ['-q', '-F', file, '-o', 'BatchMode=yes', blob, `${alias}:/tmp/blob`], env);
      assert.equal(up.code, 0, `${transport}: ${up.err}`);
      const back = path.join(dir, `back-${transport}`);
      const down = await exec('scp', ['-q', '-F', file, '-o', 'BatchMode=yes', `${alias}:/tmp/blob`, back], env);
      assert.equal(down.code, 0, `${transport}: ${down.err}`);
      assert.ok(fs.readFileSync(back).equals(fs.readFileSync(blob)), `${transport}: the copy differs`);
    }
  });

  it('hangar ssh-config writes the native proxy when it sits beside the bundle (HANGAR_NATIVE_PROXY=0: Node)', async () => {
    const withNative = await cli.run(['ssh-config', envName]);
    assert.equal(withNative.code, 0, withNative.stderr);
    assert.match(withNative.stdout, new RegExp(`ProxyCommand ${native.replace(/[.]/g, '\\.')} proxy --url `));
    const file = path.join(tmpDir(), 'config');
    fs.writeFileSync(file, withNative.stdout);
    const r = await exec('ssh', ['-F', file, '-o', 'BatchMode=yes', sshAlias(d.url, envName), 'echo cli'], sshEnv());
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out.trim(), 'cli');
    const node = await cli.run(['ssh-config', envName], { env: { HANGAR_NATIVE_PROXY: '0' } });
    assert.match(node.stdout, /ProxyCommand (\S*node\S* \S*hangar\.js|\S*bin\/hangar) proxy --url /);
  });

  it("refusals keep the CLI's exit codes: another user's env is 4 (not found), a bad token 3", async () => {
    const other = await d.admin.createUser(`np-${Date.now().toString(36)}`, 'user');
    const alias = sshAlias(d.url, envName);
    const asOther = await exec(native, ['proxy', '--url', d.url, alias], {
      ...sshEnv(),
      HANGAR_TOKEN: other.token,
    });
    assert.equal(asOther.code, 4, asOther.err);
    assert.match(asOther.err, /^hangar: .*not found/im);
    assert.equal(asOther.out, '', 'no byte of the env reached a user who may not see it');
    const bad = await exec(native, ['proxy', '--url', d.url, alias], { ...sshEnv(), HANGAR_TOKEN: 'nope' });
    assert.equal(bad.code, 3, bad.err);
    assert.ok(!bad.err.includes('nope'), 'the token is not echoed');
    const noGw = await exec(native, ['proxy', '--url', 'http://127.0.0.1:1', alias], sshEnv());
    assert.equal(noGw.code, 6, noGw.err);
    // The other user's own client sees nothing of the admin's env either.
    await assert.rejects(new HangarClient({ url: d.url, token: other.token }).getEnvironment(envName), /not found/i);
  });
});
