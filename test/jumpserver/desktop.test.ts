// Desktops through JumpServer, against the API double with a real hangard and a real xrdp desktop in Docker: the asset
// serves ssh + rdp + vnc at endpoints on the gateway (the RDP one answers X.224 from xrdp); POST
// /environments/:id/rdp returns the .rdp file JumpServer issues for a fresh RDP token made for the caller (the double
// checks asset, account, protocol and permission); the CLI writes the same; a second user gets 404; JumpServer down
// or switched off, the same route gives the direct file.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { HangarClient } from '../../common/client';
import type { Environment, RdpLogin } from '../../common/model';
import { JumpServerApiDouble } from '../doubles/jumpserver-api';
import { apiError } from '../helpers/apiError';
import { Cli } from '../helpers/cli';
import { jumpServerYaml } from '../helpers/jumpserver';
import { startDaemon, type TestDaemon } from '../helpers/daemon';
import { retry } from '../helpers/retry';
import { tmpDir } from '../helpers/tmp';

const RDP_IMAGE = 'hangar-test/rdp:latest';
// TPKT + X.224 Connection Request with an RDP negotiation request (TLS | CredSSP).
const CONNECTION_REQUEST = Buffer.from('030000130ee000000000000100080003000000', 'hex');

function x224(port: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => s.write(CONNECTION_REQUEST));
    const timer = setTimeout(() => (s.destroy(), reject(new Error('no X.224 answer'))), 10_000);
    s.once('data', (b: Buffer) => (clearTimeout(timer), s.destroy(), resolve(b)));
    s.once('error', (e) => (clearTimeout(timer), reject(e)));
    s.once('close', () => (clearTimeout(timer), reject(new Error('closed'))));
  });
}

describe('jumpserver area: RDP and VNC of a desktop env through JumpServer', function () {
  this.timeout(300_000);
  const jms = new JumpServerApiDouble();
  const dir = tmpDir('hangar-jms-desk-');
  const suffix = Date.now() % 100000;
  const bobName = `dbob${suffix}`;
  let d: TestDaemon;
  let bob: HangarClient;
  let bobToken: string;
  let carol: HangarClient;
  let env: Environment;

  before(async () => {
    await jms.start();
    jms.addUser(bobName);
    jms.rdpEndpoint = { host: 'jms-rdp.example.test', port: 3390 };
    const from = 24000 + (process.pid % 400);
    const yaml = jumpServerYaml({ api: jms, dir, token: 'tok-desk', kokoPort: 2222, ports: { from, to: from + 50 } });
    d = await startDaemon({ configYaml: yaml });
    bobToken = (await d.admin.createUser(bobName)).token;
    bob = new HangarClient({ url: d.url, token: bobToken });
    carol = new HangarClient({ url: d.url, token: (await d.admin.createUser(`dcarol${suffix}`)).token });
    env = await bob.createEnvironment({
      name: 'jmsdesk',
      image: RDP_IMAGE,
      image_pull_policy: 'never',
      environment_type: 'desktop',
      use_jumpserver: true,
    });
    await retry(async () => assert.equal((await bob.getEnvironment(env.id)).status, 'running'), 180_000);
    env = await bob.getEnvironment(env.id);
  });
  after(async () => {
    for (const e of (await d?.admin.listEnvironments()) ?? [])
      await d.admin.deleteEnvironment(e.id).catch(() => undefined);
    await d?.close();
    await jms.stop();
  });

  const host = () => jms.objects('hosts').find((h) => h.comment?.endsWith(env.id))!;
  const portOf = (name: string) => host().protocols.find((p: { name: string }) => p.name === name)?.port as number;

  it('registers ssh, rdp and vnc, with the RDP login and VNC password as hosted accounts', async () => {
    assert.deepEqual(
      host().protocols.map((p: { name: string }) => p.name),
      ['ssh', 'rdp', 'vnc'],
    );
    assert.equal(new Set(host().protocols.map((p: { port: number }) => p.port)).size, 3, 'one endpoint each');
    const direct = await bob.connection(env.id);
    const accounts = jms.objects('accounts').filter((a) => a.asset === host().id);
    const byName = Object.fromEntries(accounts.map((a) => [a.name, a]));
    assert.deepEqual(Object.keys(byName).sort(), ['hangar', 'hangar-rdp', 'hangar-vnc']);
    assert.equal(byName['hangar-rdp'].secret_type, 'password');
    assert.equal(byName['hangar-rdp'].username, 'hangar');
    assert.equal(byName['hangar-rdp'].secret, direct.rdp!.password);
    assert.equal(byName['hangar-vnc'].secret, direct.vnc!.password);
    const perm = jms.objects('perms').find((p) => p.assets.includes(host().id))!;
    assert.deepEqual(perm.protocols, ['ssh', 'rdp', 'vnc']);
    assert.deepEqual(perm.accounts.sort(), ['hangar', 'hangar-rdp', 'hangar-vnc']);
    // Connection info: the JumpServer routes beside the direct ones (not required here).
    assert.deepEqual(direct.jumpserver!.protocols, ['ssh', 'rdp', 'vnc']);
    assert.equal(direct.jumpserver!.web_url, `${jms.url}/luna/?login_to=${host().id}`);
    assert.equal(direct.jumpserver!.rdp!.path, `/api/v1/environments/${env.id}/rdp`);
  });

  it("the asset's RDP endpoint on the gateway reaches xrdp (what JumpServer's RDP gateway connects to)", async () => {
    const cc = await retry(() => x224(portOf('rdp')), 30_000);
    assert.equal(cc[0], 0x03, 'TPKT');
    assert.equal(cc[5], 0xd0, 'X.224 Connection Confirm');
  });

  it("POST /rdp returns JumpServer's .rdp file for a fresh RDP token made for the owner", async () => {
    const before = jms.seen.length;
    const r = await bob.rdp(env.id);
    assert.equal(r.via, 'jumpserver');
    const [token] = [...jms.db.tokens.values()].filter((t) => t.protocol === 'rdp');
    const bobId = jms.objects('users').find((u) => u.username === bobName)!.id;
    assert.equal(token.asset, host().id);
    assert.equal(token.account, 'hangar-rdp');
    assert.equal(token.connect_method, 'mstsc');
    assert.equal(token.user, bobId, "the caller's token, not the gateway's JumpServer identity");
    assert.match(r.rdp_file, /^full address:s:jms-rdp\.example\.test:3390$/m);
    assert.ok(r.rdp_file.includes(`username:s:${bobName}|${token.id}\n`));
    assert.equal(r.host, 'jms-rdp.example.test');
    assert.equal(r.port, 3390);
    assert.equal(r.user, `${bobName}|${token.id}`);
    assert.equal(r.password, token.value);
    assert.equal(r.expire_time, 300);
    const calls = jms.seen
      .slice(before)
      .map((x) => `${x.method} ${x.path.replace(/[0-9a-f-]{36}/, ':id')} ${x.scheme}`);
    assert.ok(calls.includes('POST /authentication/super-connection-token/ token'), calls.join('\n'));
    assert.ok(calls.includes('GET /authentication/super-connection-token/:id/rdp-file/ token'), calls.join('\n'));
    const trail = await d.admin.audit({ action: 'environment.*', target: env.id });
    assert.ok(trail.entries.some((e) => e.user === bobName && e.result === 'ok' && /rdp/.test(e.action)));
  });

  it('the CLI writes the same file (hangar rdp)', async () => {
    const cli = new Cli(d.url);
    await cli.login(bobToken);
    const out = path.join(dir, 'desk.rdp');
    const r = await cli.run(['rdp', env.name, '-o', out]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(fs.readFileSync(out, 'utf8'), /^full address:s:jms-rdp\.example\.test:3390$/m);
    assert.match(r.stdout, /through JumpServer/);
    assert.equal(fs.statSync(out).mode & 0o077, 0, 'the file is private');
  });

  it("a second, non-admin user gets 404 for another's env", async () => {
    for (const p of [
      () => carol.rdp(env.id),
      () => carol.connection(env.id),
      () => carol.request('POST', `/api/v1/environments/${env.id}/connection-token`),
    ])
      assert.equal((await apiError(p())).status, 404);
  });

  it("an admin asking for someone's env gets a token as themselves, which JumpServer refuses without a permission", async () => {
    const e = await apiError(d.admin.rdp(env.id));
    assert.equal(e.status, 422);
    assert.match(e.message, /perm_account_invalid/);
  });

  it("JumpServer refuses a token the owner's permission doesn't cover (the double checks it): 422", async () => {
    const perm = jms.objects('perms').find((p) => p.assets.includes(host().id))!;
    const saved = perm.protocols;
    perm.protocols = ['ssh'];
    try {
      const e = await apiError(bob.rdp(env.id));
      assert.equal(e.status, 422);
      assert.equal(e.code, 'jumpserver_refused');
    } finally {
      perm.protocols = saved;
    }
  });

  it('JumpServer down (not required): the direct .rdp file, the env still works directly', async () => {
    jms.down = true;
    try {
      const r = await bob.rdp(env.id);
      assert.equal(r.via, 'direct');
    } finally {
      jms.down = false;
    }
  });

  it('switched off JumpServer, the same route gives the direct .rdp file', async () => {
    await bob.updateEnvironment(env.id, { use_jumpserver: false });
    assert.equal(jms.objects('hosts').length, 0);
    assert.equal(jms.objects('accounts').length, 0, 'all three accounts removed');
    const r: RdpLogin = await bob.rdp(env.id);
    assert.equal(r.via, 'direct');
    assert.match(r.rdp_file, new RegExp(`^full address:s:127\\.0\\.0\\.1:${env.rdp_port}\\r$`, 'm'));
  });
});
