// JumpServer registration against the API double (test/doubles/jumpserver-api.ts) with a real hangard on a real
// dockerd: an env with use_jumpserver becomes a host asset + hosted account + asset permission for its owner; stop
// deactivates, start reactivates, delete removes all three; reconcile repairs drift both ways; JumpServer down keeps
// direct access unless `required`, which answers 503 naming JumpServer and leaves nothing behind.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { HangarClient } from '../../common/client';
import type { Environment } from '../../common/model';
import { JumpServerApiDouble } from '../doubles/jumpserver-api';
import { apiError } from '../helpers/apiError';
import { Cli } from '../helpers/cli';
import { startDaemon, type TestDaemon } from '../helpers/daemon';
import { SSH_IMAGE } from '../helpers/docker';
import { retry } from '../helpers/retry';
import { tmpDir } from '../helpers/tmp';

const base = { image: SSH_IMAGE, image_pull_policy: 'never' as const, environment_type: 'terminal' as const };

function jmsYaml(url: string, auth: string, extra = ''): string {
  return [
    'jumpserver:',
    `  url: ${url}`,
    `  auth: ${auth}`,
    '  koko: {host: 127.0.0.1, port: 2222}',
    '  asset_address: 10.1.2.3',
    '  timeout_ms: 2000',
    extra,
  ].join('\n');
}

describe('jumpserver area: registration with the JumpServer API double', function () {
  this.timeout(240_000);
  const jms = new JumpServerApiDouble();
  const suffix = Date.now() % 100000;
  const bobName = `bob${suffix}`;
  let d: TestDaemon;
  let bob: HangarClient;
  let carol: HangarClient;
  let env: Environment;
  const dir = tmpDir('hangar-jms-');

  before(async () => {
    await jms.start();
    jms.privateTokens.set('tok-123', 'admin');
    jms.addUser(bobName);
    fs.writeFileSync(path.join(dir, 'token'), 'tok-123\n', { mode: 0o600 });
    d = await startDaemon({ configYaml: jmsYaml(jms.url, `{private_token_file: ${path.join(dir, 'token')}}`) });
    bob = new HangarClient({ url: d.url, token: (await d.admin.createUser(bobName)).token });
    carol = new HangarClient({ url: d.url, token: (await d.admin.createUser(`carol${suffix}`)).token });
  });
  after(async () => {
    for (const e of (await d?.admin.listEnvironments()) ?? [])
      await d.admin.deleteEnvironment(e.id).catch(() => undefined);
    await d?.close();
    await jms.stop();
  });

  const hosts = () => jms.objects('hosts');
  const reconcile = () => d.admin.request<Record<string, string[]>>('POST', '/api/v1/jumpserver/reconcile');

  it('says whether JumpServer answers and as whom (private token; every request carries X-JMS-ORG)', async () => {
    const s = await bob.request<Record<string, unknown>>('GET', '/api/v1/jumpserver');
    assert.equal(s.available, true);
    assert.equal(s.as, 'admin');
    assert.ok(jms.seen.every((x) => x.scheme === 'token' && x.org === '00000000-0000-0000-0000-000000000002'));
    const cli = new Cli(d.url);
    await cli.login(d.token);
    const r = await cli.run(['backends']);
    assert.match(
      r.stdout,
      new RegExp(`^jumpserver  ${jms.url}  up as admin  \\(org 0+-0+-0+-0+-0+2\\)  koko 127.0.0.1:2222$`, 'm'),
    );
    assert.doesNotMatch(r.stdout + (await cli.run(['jumpserver', '--json'])).stdout, /tok-123/);
  });

  it('registers an env created with use_jumpserver: asset, hosted key account, permission for its owner', async () => {
    env = await bob.createEnvironment({ ...base, name: 'viajms', use_jumpserver: true });
    const [host] = hosts();
    assert.equal(host.address, '10.1.2.3');
    assert.deepEqual(
      host.protocols.map((p: { name: string }) => p.name),
      ['ssh'],
      'a terminal env serves SSH only',
    );
    const c = await bob.connection(env.id);
    assert.equal(c.direct_refused, undefined, 'not required: the direct routes stay');
    assert.ok(c.ssh.tunnel_path);
    assert.equal(host.protocols[0].name, 'ssh');
    assert.ok(host.protocols[0].port >= 22200);
    assert.equal(host.comment.endsWith(env.id), true);
    const [account] = jms.objects('accounts');
    assert.equal(account.asset, host.id);
    assert.equal(account.secret_type, 'ssh_key');
    assert.match(account.secret, /BEGIN OPENSSH PRIVATE KEY/);
    const [perm] = jms.objects('perms');
    const bobId = jms.objects('users').find((u) => u.username === bobName)!.id;
    assert.deepEqual(perm.users, [bobId]);
    assert.deepEqual(perm.assets, [host.id]);
    await retry(async () => assert.equal((await bob.getEnvironment(env.id)).status, 'running'), 120_000);
  });

  it('stop deactivates, start reactivates', async () => {
    await bob.action(env.id, 'stop');
    assert.equal(hosts()[0].is_active, false);
    assert.equal(jms.objects('perms')[0].is_active, false);
    await bob.action(env.id, 'start');
    assert.equal(hosts()[0].is_active, true);
  });

  it('another user gets 404 for the env, 403 for reconcile', async () => {
    for (const p of [
      () => carol.request('GET', `/api/v1/environments/${env.id}/sessions`),
      () => carol.request('POST', `/api/v1/environments/${env.id}/connection-token`),
    ])
      assert.equal((await apiError(p())).status, 404);
    assert.equal((await apiError(carol.request('POST', '/api/v1/jumpserver/reconcile'))).status, 403);
  });

  it('reconcile repairs drift both ways', async () => {
    jms.db.hosts.clear();
    const stray = { id: crypto.randomUUID(), org_id: '00000000-0000-0000-0000-000000000002' };
    const ours = d.server.gatewayId;
    jms.db.hosts.set(stray.id, { ...stray, name: 'stray', comment: `hangar:${ours}:no-such-env`, is_active: true });
    const drift = await reconcile();
    assert.deepEqual(drift.registered, [env.id]);
    assert.ok(drift.removed.includes('no-such-env'));
    assert.deepEqual(
      hosts().map((h) => h.comment),
      [`hangar:${ours}:${env.id}`],
    );
  });

  it('delete removes asset, account and permission', async () => {
    await bob.deleteEnvironment(env.id);
    assert.equal(hosts().length, 0);
    assert.equal(jms.objects('accounts').length, 0);
    assert.equal(jms.objects('perms').length, 0);
  });

  it('JumpServer down, not required: the env is made and works directly; reconcile registers it later', async () => {
    jms.down = true;
    const e = await bob.createEnvironment({ ...base, name: 'later', use_jumpserver: true });
    const s = await bob.request<Record<string, unknown>>('GET', '/api/v1/jumpserver');
    assert.equal(s.available, false);
    assert.match(String(s.error), /JumpServer is unavailable/);
    assert.equal((await apiError(reconcile())).status, 503);
    jms.down = false;
    assert.deepEqual((await reconcile()).registered, [e.id]);
    await bob.deleteEnvironment(e.id);
    assert.equal(hosts().length, 0);
  });

  it('PATCH use_jumpserver registers and deregisters', async () => {
    const e = await bob.createEnvironment({ ...base, name: 'switch' });
    assert.equal(hosts().length, 0);
    await bob.updateEnvironment(e.id, { use_jumpserver: true });
    assert.equal(hosts().length, 1);
    await bob.updateEnvironment(e.id, { use_jumpserver: false });
    assert.equal(hosts().length, 0);
    await bob.deleteEnvironment(e.id);
  });
});

describe('jumpserver area: required JumpServer, access-key signatures', function () {
  this.timeout(120_000);
  const jms = new JumpServerApiDouble();
  let d: TestDaemon;
  const dir = tmpDir('hangar-jms-');

  before(async () => {
    await jms.start();
    jms.accessKeys.set('ak-1', 'sekrit-value');
    fs.writeFileSync(path.join(dir, 'secret'), 'sekrit-value\n', { mode: 0o600 });
    const auth = `{access_key_id: ak-1, access_key_secret_file: ${path.join(dir, 'secret')}}`;
    d = await startDaemon({ configYaml: jmsYaml(jms.url, auth, '  required: true') });
  });
  after(async () => {
    await d?.close();
    await jms.stop();
  });

  it('signs requests (HTTP Signature); a wrong secret is refused by the double', async () => {
    const s = await d.admin.request<Record<string, unknown>>('GET', '/api/v1/jumpserver');
    assert.equal(s.available, true);
    assert.ok(jms.seen.some((x) => x.scheme === 'signature'));
    jms.accessKeys.set('ak-1', 'other');
    const bad = await d.admin.request<Record<string, unknown>>('GET', '/api/v1/jumpserver');
    assert.equal(bad.available, false);
    assert.doesNotMatch(JSON.stringify(bad), /sekrit/);
    jms.accessKeys.set('ak-1', 'sekrit-value');
  });

  it('JumpServer down and required: 503 naming JumpServer, and no env is left', async () => {
    jms.down = true;
    const e = await apiError(d.admin.createEnvironment({ ...base, name: 'must', use_jumpserver: true }));
    assert.equal(e.status, 503);
    assert.match(e.message, /JumpServer/);
    assert.deepEqual(await d.admin.listEnvironments(), []);
    jms.down = false;
  });

  it("required: the gateway's direct tunnel is refused for a use_jumpserver env (403 naming the rule)", async () => {
    const e = await d.admin.createEnvironment({ ...base, name: 'onlyjms', use_jumpserver: true });
    // The tunnel is a WebSocket (hangar proxy); the service behind it is what refuses.
    const me = await d.admin.me();
    await assert.rejects(d.server.envs.openTunnel(me, e.id, 22), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'forbidden');
      assert.match(err.message, /through JumpServer only/);
      return true;
    });
    // Connection info lists only what works: the KoKo route, not the refused tunnel, and says why.
    const c = await d.admin.connection(e.id);
    assert.equal(c.direct_refused?.rule, 'jumpserver.required');
    assert.match(c.direct_refused!.reason, /only through JumpServer/);
    assert.equal(c.ssh.tunnel_path, undefined);
    assert.equal(c.ssh.proxy_command, undefined);
    assert.equal(c.jumpserver?.required, true);
    assert.match(c.jumpserver!.user, /^admin@hangar@hangar-onlyjms-/);
    await d.admin.deleteEnvironment(e.id);
    assert.equal(jms.objects('hosts').length, 0);
  });

  it('JumpServer refusing a step mid-way: what was made is undone, the env goes, nothing half-registered', async () => {
    jms.refuseNext.set('perms', { users: ['Invalid pk "x" - object does not exist.'] });
    const e = await apiError(d.admin.createEnvironment({ ...base, name: 'half', use_jumpserver: true }));
    assert.equal(e.status, 422);
    assert.equal(e.code, 'jumpserver_refused');
    assert.deepEqual(await d.admin.listEnvironments(), []);
    assert.equal(jms.objects('hosts').length, 0);
    assert.equal(jms.objects('accounts').length, 0);
  });
});
