// The managed SSH config block: rendering, merging byte for byte, marker errors, overrides, and safe concurrent writes.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import path from 'node:path';
import {
  endMarker,
  findOverrides,
  listManagedGateways,
  mergeBlock,
  renderBlock,
  shellCommand,
  SshConfigError,
  sshConfigPath,
  startMarker,
  writeManagedBlock,
  type SshConfigFs,
} from '../../common/sshConfig';
import { tmpDir } from '../helpers/tmp';

const GW = 'http://127.0.0.1:7420';
const GW2 = 'https://gpu.example.com/hangar';
const opts = (gatewayUrl: string, extra: Partial<Parameters<typeof renderBlock>[0]> = {}) => ({
  gatewayUrl,
  proxyCommand: '/usr/bin/node /opt/hangar/dist/hangar.js',
  knownHostsFile: '/home/u/.hangar/known_hosts',
  ...extra,
});
const block = (gatewayUrl = GW, extra: Partial<Parameters<typeof renderBlock>[0]> = {}) =>
  renderBlock(opts(gatewayUrl, extra));

const USER = '# my config\nHost work\n  HostName 10.0.0.1\n  User me\n';

function configFile(content?: string | Buffer, mode = 0o644): string {
  const file = path.join(tmpDir(), 'config');
  if (content !== undefined) {
    fs.writeFileSync(file, content);
    fs.chmodSync(file, mode);
  }
  return file;
}
const read = (f: string) => fs.readFileSync(f, 'utf8');
const modeOf = (f: string) => fs.statSync(f).mode & 0o777;

async function rejectsWith(p: Promise<unknown>, code: string, re: RegExp): Promise<SshConfigError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof SshConfigError, String(e));
    assert.equal(e.code, code);
    assert.match(e.message, re);
    return e;
  }
  return assert.fail('expected an SshConfigError');
}

describe('ssh config: renderBlock', () => {
  it('renders the wildcard block with markers, every line ending in \\n', () => {
    assert.equal(
      block(GW, { identityFile: '/home/u/.hangar/id_ed25519' }),
      [
        '# --- START HANGAR 127.0.0.1-7420 ---',
        `# Managed by the Hangar extension for ${GW}: changes inside this block are overwritten.`,
        'Host hangar.127.0.0.1-7420--*',
        `  ProxyCommand /usr/bin/node /opt/hangar/dist/hangar.js proxy --url ${GW} %n`,
        '  User hangar',
        '  UserKnownHostsFile /home/u/.hangar/known_hosts',
        '  StrictHostKeyChecking yes',
        '  ServerAliveInterval 10',
        '  ServerAliveCountMax 3',
        '  ConnectTimeout 0',
        '  LogLevel ERROR',
        '  IdentityFile /home/u/.hangar/id_ed25519',
        '# --- END HANGAR 127.0.0.1-7420 ---',
        '',
      ].join('\n'),
    );
    assert.ok(!block().includes('IdentityFile'), 'no IdentityFile unless given');
  });

  it('puts per-env Host blocks (sorted) before the wildcard so their User wins', () => {
    const b = block(GW, {
      envs: [
        { alias: 'hangar.127.0.0.1-7420--zeta', user: 'root' },
        { alias: 'hangar.127.0.0.1-7420--alpha', user: 'ubuntu' },
      ],
    });
    const lines = b.split('\n');
    const at = (s: string) => lines.indexOf(s);
    assert.ok(at('Host hangar.127.0.0.1-7420--alpha') > 0);
    assert.equal(lines[at('Host hangar.127.0.0.1-7420--alpha') + 1], '  User ubuntu');
    assert.ok(at('Host hangar.127.0.0.1-7420--alpha') < at('Host hangar.127.0.0.1-7420--zeta'));
    assert.ok(at('Host hangar.127.0.0.1-7420--zeta') < at('Host hangar.127.0.0.1-7420--*'));
  });

  it('escapes % for ssh, quotes paths with spaces and URLs with shell characters', () => {
    const b = block('http://h:1/a%20b', {
      proxyCommand: shellCommand(['/Program Files/node', '/x/hangar.js']),
      knownHostsFile: '/home/u/My Files/kh',
      identityFile: '/k%/id',
    });
    assert.match(b, /^ {2}ProxyCommand "\/Program Files\/node" \/x\/hangar.js proxy --url http:\/\/h:1\/a%%20b %n$/m);
    assert.match(b, /^ {2}UserKnownHostsFile "\/home\/u\/My Files\/kh"$/m);
    assert.match(b, /^ {2}IdentityFile \/k%%\/id$/m);
    assert.equal(shellCommand(['a', 'b c', "it's$x"]), `a "b c" 'it'\\''s$x'`);
  });

  it('refuses input that would corrupt or misdirect the config', () => {
    assert.throws(
      () => block('http://h:1/\nHost *'),
      (e: unknown) => e instanceof SshConfigError && e.code === 'input',
    );
    assert.throws(() => block(GW, { proxyCommand: 'x\r\ny' }), /control characters/);
    assert.throws(() => block(GW, { knownHostsFile: '/a"b' }), /must not contain/);
    assert.throws(() => block('not a url'), /not a URL/);
    assert.throws(
      () => block(GW, { envs: [{ alias: 'hangar.other-1--x', user: 'root' }] }),
      /not of the form hangar\.127\.0\.0\.1-7420--<env>/,
    );
    assert.throws(
      () => block(GW, { envs: [{ alias: 'hangar.127.0.0.1-7420--x', user: 'root me' }] }),
      /not a valid login user/,
    );
    assert.throws(
      () =>
        block(GW, {
          envs: [
            { alias: 'hangar.127.0.0.1-7420--x', user: 'a' },
            { alias: 'hangar.127.0.0.1-7420--x', user: 'b' },
          ],
        }),
      /twice/,
    );
  });
});

describe('ssh config: mergeBlock', () => {
  it('an empty file gets just the block', () => {
    assert.equal(mergeBlock('', GW, block()), block());
  });

  it('appends after the user content with one blank line of its own; adds a missing final newline', () => {
    assert.equal(mergeBlock(USER, GW, block()), `${USER}\n${block()}`);
    assert.equal(mergeBlock('Host a\n  User b', GW, block()), `Host a\n  User b\n\n${block()}`);
    assert.equal(mergeBlock('Host a\n\n', GW, block()), `Host a\n\n\n${block()}`);
  });

  it('replaces in place, keeping user content before and after byte for byte', () => {
    const before = '# top\nInclude ~/.orbstack/ssh/config\n\nMatch host foo exec "true"\n  User x\n\n';
    const after = '\nHost later\n\tHostName 1.2.3.4   \n# trailing comment';
    const old = before + block() + after;
    const next = block(GW, { identityFile: '/id' });
    const merged = mergeBlock(old, GW, next);
    assert.ok(Buffer.from(merged).equals(Buffer.from(before + next + after)));
    assert.equal(mergeBlock(merged, GW, next), merged, 'same block again: no change');
  });

  it('remove undoes insert byte for byte, and leaves no gap between user lines', () => {
    for (const orig of ['', USER, 'Host a\n\n', 'x\r\ny\r\n']) {
      assert.equal(mergeBlock(mergeBlock(orig, GW, block()), GW, null), orig);
    }
    // A block that isn't last keeps the user lines around it apart as they were.
    assert.equal(mergeBlock(`a\n\n${block()}b\n`, GW, null), 'a\n\nb\n');
    assert.equal(mergeBlock(USER, GW, null), USER, 'removing a block that is not there changes nothing');
  });

  it('CRLF files stay CRLF and LF files stay LF', () => {
    const crlf = USER.replace(/\n/g, '\r\n');
    const merged = mergeBlock(crlf, GW, block());
    assert.ok(merged.startsWith(crlf));
    assert.equal(merged.replace(/\r\n/g, '').includes('\n'), false, 'no bare LF in a CRLF file');
    assert.equal(merged, `${crlf}\r\n${block().replace(/\n/g, '\r\n')}`);
    // Replacing inside a CRLF file: still CRLF.
    assert.equal(
      mergeBlock(merged, GW, block(GW, { identityFile: '/id' }))
        .replace(/\r\n/g, '')
        .includes('\n'),
      false,
    );
    assert.ok(
      !mergeBlock(USER, GW, block().replace(/\n/g, '\r\n')).includes('\r'),
      'a CRLF block in an LF file becomes LF',
    );
  });

  it("keeps two gateways' blocks apart", () => {
    const both = mergeBlock(mergeBlock(USER, GW, block()), GW2, block(GW2));
    assert.deepEqual(
      listManagedGateways(both).map((b) => [b.slug, b.gatewayUrl]),
      [
        ['127.0.0.1-7420', GW],
        ['gpu.example.com-hangar', GW2],
      ],
    );
    const replaced = mergeBlock(both, GW, block(GW, { identityFile: '/id' }));
    assert.ok(replaced.includes(block(GW2)) && replaced.includes(block(GW, { identityFile: '/id' })));
    assert.equal(mergeBlock(mergeBlock(replaced, GW, null), GW2, null), USER);
  });

  it('names the lines when markers do not pair up', () => {
    const s = startMarker('127.0.0.1-7420');
    const e = endMarker('127.0.0.1-7420');
    const s2 = startMarker('x');
    const e2 = endMarker('x');
    const cases: [string, RegExp, number[]][] = [
      [`a\n${s}\nb\n`, /line 2 starts a block for 127\.0\.0\.1-7420 that never ends/, [2]],
      [`a\n${e}\n`, /line 2 ends a block for 127\.0\.0\.1-7420 that was never started/, [2]],
      [`${s}\n${e}\n${s}\n${e}\n`, /two blocks for 127\.0\.0\.1-7420 \(START at lines 1 and 3\)/, [1, 3]],
      [`${s}\n${s}\n${e}\n`, /line 2 starts a second block/, [1, 2]],
      [`${s2}\n${s}\n${e}\n${e2}\n`, /nested/, [1, 2]],
      [`${s2}\n${e}\n`, /line 2 ends a block for 127\.0\.0\.1-7420, but the block open since line 1 is for x/, [1, 2]],
    ];
    for (const [content, re, lines] of cases) {
      assert.throws(
        () => mergeBlock(content, GW, block()),
        (err: unknown) => {
          assert.ok(err instanceof SshConfigError);
          assert.equal(err.code, 'markers');
          assert.match(err.message, re);
          assert.deepEqual(err.lines, lines);
          return true;
        },
      );
    }
  });

  it('refuses a block that is not exactly one block for this gateway', () => {
    assert.throws(
      () => mergeBlock('', GW, block(GW2)),
      (e: unknown) => e instanceof SshConfigError && e.code === 'block',
    );
    assert.throws(
      () => mergeBlock('', GW, 'Host *\n  User x\n'),
      /must start with "# --- START HANGAR 127\.0\.0\.1-7420 ---"/,
    );
    assert.throws(() => mergeBlock('', GW, block() + block()), /no other markers/);
  });
});

describe('ssh config: findOverrides', () => {
  const alias = 'hangar.127.0.0.1-7420--dev';
  const withBlock = (before: string, after = '') => `${before}\n${block()}${after}`;

  it('warns about Host * setting ProxyCommand before the block, not after it', () => {
    const w = findOverrides(withBlock('Host *\n  ProxyCommand none\n'), alias);
    assert.equal(w.length, 1);
    assert.match(
      w[0],
      /^line 2: "ProxyCommand none" in "Host \*" \(line 1\) applies to hangar\.127\.0\.0\.1-7420--dev .*Hangar's ProxyCommand would be ignored/,
    );
    assert.deepEqual(findOverrides(withBlock('', 'Host *\n  ProxyCommand none\n'), alias), []);
  });

  it('honours negation and only the guarded options', () => {
    assert.deepEqual(findOverrides(withBlock('Host !hangar.* *\n  ProxyCommand none\n  User x\n'), alias), []);
    assert.deepEqual(findOverrides(withBlock('Host *\n  ForwardAgent yes\n  IdentityFile ~/.ssh/id_rsa\n'), alias), []);
    assert.deepEqual(findOverrides(withBlock('Host other work\n  User x\n'), alias), []);
  });

  it('warns about Host hangar.* setting User, and about top-level options', () => {
    assert.match(
      findOverrides(withBlock('Host hangar.*\n  User root\n'), alias)[0],
      /"User root" in "Host hangar\.\*"/,
    );
    assert.match(
      findOverrides(withBlock('StrictHostKeyChecking=no\n'), alias)[0],
      /^line 1: "StrictHostKeyChecking=no" before any Host line applies/,
    );
    assert.equal(findOverrides(withBlock('Host h?ngar.127.0.0.1-7420--d*\n  hostname 1.2.3.4\n'), alias).length, 1);
    // As in ssh: Host patterns are case-sensitive, Match host lists are not.
    assert.equal(findOverrides(withBlock('Host HANGAR.*\n  ProxyJump bastion\n'), alias).length, 0);
    assert.equal(findOverrides(withBlock('Match host HANGAR.*\n  ProxyJump bastion\n'), alias).length, 1);
  });

  it('evaluates Match: all applies, host lists with negation, run-time criteria may apply', () => {
    assert.match(
      findOverrides(withBlock('Match all\n  UserKnownHostsFile /dev/null\n'), alias)[0],
      /in "Match all" \(line 1\) applies/,
    );
    assert.equal(findOverrides(withBlock('Match host *,!hangar.*\n  User x\n'), alias).length, 0);
    assert.equal(findOverrides(withBlock('Match host a,hangar.*\n  User x\n'), alias).length, 1);
    assert.equal(findOverrides(withBlock('Match !host hangar.*\n  User x\n'), alias).length, 0);
    assert.match(findOverrides(withBlock('Match exec "test -f /x"\n  User x\n'), alias)[0], /may apply/);
    assert.equal(findOverrides(withBlock('Match host other exec "true"\n  User x\n'), alias).length, 0);
  });

  it('flags an Include that applies before the block as not checked', () => {
    const w = findOverrides(withBlock('Include ~/.orbstack/ssh/config\nHost x\n  Include other\n'), alias);
    assert.equal(w.length, 1);
    assert.match(w[0], /^line 1: "Include ~\/\.orbstack\/ssh\/config" .*not checked/);
  });

  it('checks the whole file when there is no block yet, and the gateway wildcard as "any env"', () => {
    assert.equal(findOverrides('Host *\n  User x\n', alias).length, 1);
    const wild = 'hangar.127.0.0.1-7420--*';
    assert.equal(findOverrides(withBlock('Host hangar.127.0.0.1-7420--gpu*\n  User x\n'), wild).length, 1);
    assert.match(findOverrides(withBlock('Host hangar.127.0.0.1-7420--gpu*\n  User x\n'), wild)[0], /may apply/);
    assert.equal(findOverrides(withBlock('Host * !hangar.127.0.0.1-7420--*\n  User x\n'), wild).length, 0);
    assert.equal(findOverrides(withBlock('Host hangar.other--*\n  User x\n'), wild).length, 0);
    assert.equal(findOverrides(withBlock('Host *.corp\n  User x\n'), wild).length, 0, 'env names have no dots');
  });
});

describe('ssh config: writeManagedBlock', () => {
  it('creates a missing file (0600) and its ~/.ssh directory (0700)', async () => {
    const home = tmpDir();
    const file = path.join(home, '.ssh', 'config');
    assert.deepEqual(await writeManagedBlock(file, GW, block()), { changed: true, warnings: [] });
    assert.equal(read(file), block());
    assert.equal(modeOf(file), 0o600);
    assert.equal(fs.statSync(path.join(home, '.ssh')).mode & 0o777, 0o700);
    assert.deepEqual(fs.readdirSync(path.join(home, '.ssh')), ['config'], 'no lock or temp file left');
  });

  it('removing from a missing file does nothing', async () => {
    const file = configFile();
    assert.deepEqual(await writeManagedBlock(file, GW, null), { changed: false, warnings: [] });
    assert.equal(fs.existsSync(file), false);
  });

  it('replaces in place keeping the user bytes (even non-UTF-8) and the mode; no-op leaves the file alone', async () => {
    const before = Buffer.concat([
      Buffer.from('# caf'),
      Buffer.from([0xe9, 0xff]),
      Buffer.from('\nHost a\n  User b\n'),
    ]);
    const after = Buffer.from('Host z\n  User y');
    const file = configFile(Buffer.concat([before, Buffer.from(block()), after]), 0o644);
    const next = block(GW, { identityFile: '/home/José/id' });
    assert.equal((await writeManagedBlock(file, GW, next)).changed, true);
    assert.ok(fs.readFileSync(file).equals(Buffer.concat([before, Buffer.from(next, 'utf8'), after])));
    assert.equal(modeOf(file), 0o644);
    const mtime = fs.statSync(file).mtimeMs;
    await new Promise((r) => setTimeout(r, 20));
    assert.equal((await writeManagedBlock(file, GW, next)).changed, false);
    assert.equal(fs.statSync(file).mtimeMs, mtime);
    // And removed again: exactly the user bytes with the block gone.
    assert.equal((await writeManagedBlock(file, GW, null)).changed, true);
    assert.ok(fs.readFileSync(file).equals(Buffer.concat([before, after])));
  });

  it('keeps Include lines and Match blocks verbatim, CRLF and no final newline', async () => {
    const user =
      'Include config.d/*\r\nMatch host *.corp exec "test -e /tmp/x"\r\n  ProxyJump bastion\r\nHost *\r\n  ServerAliveInterval 60';
    const file = configFile(user);
    const r = await writeManagedBlock(file, GW, block());
    assert.equal(read(file), `${user}\r\n\r\n${block().replace(/\n/g, '\r\n')}`);
    assert.equal(r.warnings.length, 1, r.warnings.join('\n'));
    assert.match(
      r.warnings[0],
      new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}, line 1: "Include config\\.d/\\*"`),
    );
  });

  it('reports broken markers with the file and lines, leaving the file untouched', async () => {
    const content = `Host a\n${startMarker('127.0.0.1-7420')}\nHost b\n`;
    const file = configFile(content);
    const e = await rejectsWith(
      writeManagedBlock(file, GW, block()),
      'markers',
      /config: Hangar block markers don't pair up: line 2 starts a block/,
    );
    assert.equal(e.file, file);
    assert.equal(read(file), content);
    assert.deepEqual(fs.readdirSync(path.dirname(file)), ['config']);
    // Another gateway's broken block blocks writes too: we can't tell where user lines end.
    const other = configFile(`${endMarker('x')}\n`);
    await rejectsWith(writeManagedBlock(other, GW, block()), 'markers', /line 1 ends a block for x/);
  });

  it('two and then ten concurrent writers all land, user lines intact', async () => {
    for (const n of [2, 10]) {
      const file = configFile(USER, 0o640);
      const urls = Array.from({ length: n }, (_, i) => `http://10.0.0.${i + 1}:7420`);
      const results = await Promise.all(urls.map((u) => writeManagedBlock(file, u, block(u))));
      assert.ok(results.every((r) => r.changed));
      const content = read(file);
      assert.ok(content.startsWith(`${USER}\n`));
      assert.deepEqual(
        listManagedGateways(content)
          .map((b) => b.gatewayUrl)
          .sort(),
        [...urls].sort(),
      );
      for (const u of urls) assert.ok(content.includes(block(u)));
      assert.equal(modeOf(file), 0o640);
      assert.deepEqual(fs.readdirSync(path.dirname(file)), ['config'], 'no lock or temp files left');
      // And all removed at once: back to the user's bytes.
      await Promise.all(urls.map((u) => writeManagedBlock(file, u, null)));
      assert.equal(read(file), USER);
    }
  });

  it('writes through a symlink (also a dangling one) and keeps the link', async () => {
    const dir = tmpDir();
    const real = path.join(dir, 'dotfiles', 'ssh_config');
    fs.mkdirSync(path.dirname(real));
    fs.writeFileSync(real, USER, { mode: 0o600 });
    const link = path.join(dir, 'config');
    fs.symlinkSync('dotfiles/ssh_config', link);
    await writeManagedBlock(link, GW, block());
    assert.ok(fs.lstatSync(link).isSymbolicLink());
    assert.equal(read(real), `${USER}\n${block()}`);
    assert.equal(modeOf(real), 0o600);
    assert.ok(!fs.readdirSync(dir).some((f) => f !== 'config' && f !== 'dotfiles'));

    const dangling = path.join(dir, 'config2');
    fs.symlinkSync(path.join(dir, 'dotfiles', 'new_config'), dangling);
    await writeManagedBlock(dangling, GW, block());
    assert.ok(fs.lstatSync(dangling).isSymbolicLink());
    assert.equal(read(path.join(dir, 'dotfiles', 'new_config')), block());
  });

  it('waits for a held lock, breaks a stale one', async () => {
    const file = configFile(USER);
    const lock = `${file}.hangar.lock`;
    fs.writeFileSync(lock, '999999 someone');
    const t0 = Date.now();
    await rejectsWith(
      writeManagedBlock(file, GW, block(), { lockTimeoutMs: 300 }),
      'locked',
      /another writer holds .*config\.hangar\.lock/,
    );
    assert.ok(Date.now() - t0 >= 300);
    assert.equal(read(file), USER);
    // Released while we wait: we go on.
    setTimeout(() => fs.unlinkSync(lock), 100);
    assert.equal((await writeManagedBlock(file, GW, block())).changed, true);
    // A crashed writer's lock (old mtime) is broken.
    fs.writeFileSync(lock, '999999 crashed');
    const old = new Date(Date.now() - 60_000);
    fs.utimesSync(lock, old, old);
    assert.equal((await writeManagedBlock(file, GW, null, { lockTimeoutMs: 200 })).changed, true);
    assert.equal(read(file), USER);
    assert.deepEqual(fs.readdirSync(path.dirname(file)), ['config']);
  });

  it('a failed write leaves the file, and no temp or lock file', async () => {
    const file = configFile(USER);
    const failing: SshConfigFs = {
      ...fsp,
      rename: async (from, to) => {
        if (from.endsWith('.tmp')) throw Object.assign(new Error('EIO: disk on fire'), { code: 'EIO' });
        return fsp.rename(from, to);
      },
    };
    await assert.rejects(writeManagedBlock(file, GW, block(), { fs: failing }), /disk on fire/);
    assert.equal(read(file), USER);
    assert.deepEqual(fs.readdirSync(path.dirname(file)), ['config']);
  });
});

describe('ssh config: sshConfigPath', () => {
  it('uses remote.SSH.configFile (with ~) or ~/.ssh/config', () => {
    assert.equal(sshConfigPath(undefined, '/home/u'), '/home/u/.ssh/config');
    assert.equal(sshConfigPath('  ', '/home/u'), '/home/u/.ssh/config');
    assert.equal(sshConfigPath('~/cfg/ssh', '/home/u'), '/home/u/cfg/ssh');
    assert.equal(sshConfigPath('/etc/ssh/my_config', '/home/u'), '/etc/ssh/my_config');
  });
});
