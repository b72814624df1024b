// Profiles end to end on a real dockerd: create by profile through the real CLI bundle, a refused override, a
// quota refusal with its numbers, a second (non-admin) user's view, admin-only routes, and profile drift.
import assert from 'node:assert/strict';
import { HangarClient } from '../../common/client';
import type { Environment } from '../../common/model';
import { apiError } from '../helpers/apiError';
import { Cli } from '../helpers/cli';
import { startDaemon, type TestDaemon } from '../helpers/daemon';
import { SSH_IMAGE } from '../helpers/docker';

const CONFIG = `
profiles_only_for_roles: [user]
quotas:
  ml: { cpu: 1 }
profiles:
  - name: tiny
    display_name: Tiny terminal
    description: A small SSH box
    environment: { image: ${SSH_IMAGE}, image_pull_policy: never, environment_type: terminal, cpu: 0.5 }
    options:
      memory_mb: { choices: [128, 256], default: 128 }
    teams: [ml]
  - name: web-only
    display_name: Web team box
    environment: { image: ${SSH_IMAGE}, image_pull_policy: never, environment_type: terminal }
    teams: [web]
`;

describe('profiles: end to end on Docker', function () {
  this.timeout(240_000);
  let d: TestDaemon;
  let bob: HangarClient;
  let cli: Cli;
  const suffix = Date.now() % 100000;

  before(async () => {
    d = await startDaemon({ configYaml: CONFIG });
    const made = await d.admin.createUser(`bob${suffix}`, 'user', 'ml');
    bob = new HangarClient({ url: d.url, token: made.token });
    cli = new Cli(d.url);
    await cli.login(made.token);
  });
  after(async () => {
    for (const e of (await d?.admin.listEnvironments().catch(() => [] as Environment[])) ?? [])
      await d.admin.deleteEnvironment(e.id).catch(() => undefined);
    await d?.close();
  });

  it("hangar profiles ls shows only the profiles of your team; another team's is a 404", async () => {
    const ls = await cli.run(['profiles', 'ls']);
    assert.equal(ls.code, 0, ls.stderr);
    assert.match(ls.stdout, /tiny\s+Tiny terminal\s+hangar-test\/ssh:latest · docker_local · no GPU/);
    assert.doesNotMatch(ls.stdout, /web-only/);
    assert.match(ls.stdout, /you create from a profile only/);
    const other = await cli.run(['profiles', 'show', 'web-only']);
    assert.equal(other.code, 4, other.stderr);
    assert.match(other.stderr, /profile 'web-only' not found/);
    assert.equal((await apiError(bob.profile('web-only'))).status, 404);
    const all = await d.admin.profiles();
    assert.deepEqual(
      all.profiles.map((p) => [p.name, p.source]),
      [
        ['tiny', 'config'],
        ['web-only', 'config'],
      ],
    );
  });

  it('hangar create --profile --option makes the env the profile says, and records profile + options', async () => {
    const r = await cli.run(['--json', 'create', 'p-one', '--profile', 'tiny', '--option', 'memory_mb=256']);
    assert.equal(r.code, 0, r.stderr);
    const env = JSON.parse(r.stdout) as Environment;
    assert.equal(env.status, 'running');
    assert.equal(env.image, SSH_IMAGE);
    assert.equal(env.cpu, 0.5);
    assert.equal(env.memory_mb, 256);
    assert.equal(env.profile, 'tiny');
    assert.deepEqual(env.profile_options, { memory_mb: 256 });
    const drift = await bob.profileDrift('p-one');
    assert.deepEqual([drift.profile, drift.available, drift.profile_changed, drift.changed], ['tiny', true, false, []]);
    assert.deepEqual(drift.recreate, { name: 'p-one', profile: 'tiny', options: { memory_mb: 256 } });
  });

  it('a fixed field is refused with 403 naming it; an option outside its choices is a 400 naming options.<field>', async () => {
    const r = await cli.run(['create', 'p-bad', '--profile', 'tiny', '--image', 'evil/root:latest']);
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, /image: is fixed by profile 'tiny' and can't be overridden/);
    const e = await apiError(bob.createEnvironment({ name: 'p-bad', profile: 'tiny', cpu: 8 }));
    assert.deepEqual([e.status, e.field], [403, 'cpu']);
    const o = await apiError(bob.createEnvironment({ name: 'p-bad', profile: 'tiny', options: { memory_mb: 4096 } }));
    assert.deepEqual([o.status, o.field], [400, 'options.memory_mb']);
    assert.match(o.message, /4096 is not one of the choices \(128, 256\)/);
    // The role is restricted to profiles: the full form is refused.
    const custom = await apiError(bob.createEnvironment({ name: 'p-bad', image: SSH_IMAGE }));
    assert.equal(custom.status, 403);
    assert.match(custom.message, /from a profile only/);
    // And a PATCH may not change what the profile fixes.
    assert.equal((await apiError(bob.updateEnvironment('p-one', { cpu: 4 }))).status, 403);
    assert.ok(!(await bob.listEnvironments()).some((x) => x.name === 'p-bad'));
  });

  it('the team quota refuses a create and a start with the numbers', async () => {
    const two = await bob.createEnvironment({ name: 'p-two', profile: 'tiny' });
    await bob.waitFor(two.id, ['running']);
    const r = await cli.run(['create', 'p-three', '--profile', 'tiny']);
    assert.equal(r.code, 5, r.stderr);
    assert.match(r.stderr, /quota exceeded: team ml: 1 of 1 CPUs in use, this asks 0\.5/);
    // Stopped, p-two holds nothing: p-three fits, and then p-two can't start again.
    await bob.action('p-two', 'stop');
    const three = await bob.createEnvironment({ name: 'p-three', profile: 'tiny' });
    await bob.waitFor(three.id, ['running']);
    const e = await apiError(bob.action('p-two', 'start'));
    assert.equal(e.status, 409);
    assert.match(e.message, /team ml: 1 of 1 CPUs in use, this asks 0\.5/);
  });

  it('admin-only routes are 403 to a user; config profiles are read-only (409); an API profile and its drift', async () => {
    const body = {
      name: 'api-box',
      display_name: 'API box',
      environment: { image: SSH_IMAGE, image_pull_policy: 'never' as const, environment_type: 'terminal' as const },
      teams: ['ml'],
    };
    assert.equal((await apiError(bob.createProfile(body))).status, 403);
    assert.equal((await apiError(bob.deleteProfile('tiny'))).status, 403);
    assert.equal((await apiError(d.admin.deleteProfile('tiny'))).status, 409);
    const put = await apiError(d.admin.raw('PUT', '/api/v1/profiles/tiny', { display_name: 'x' }));
    assert.equal(put.status, 409);
    assert.match(put.message, /configuration file/);
    const made = await d.admin.createProfile(body);
    assert.equal(made.source, 'api');
    assert.equal((await apiError(d.admin.createProfile(body))).status, 409);
    // Bob frees CPU first (the quota), then makes one from the API profile; the admin changes the profile.
    for (const n of ['p-one', 'p-three']) await bob.deleteEnvironment(n);
    const env = await bob.createEnvironment({ name: 'p-api', profile: 'api-box' });
    await bob.waitFor(env.id, ['running']);
    const { name: _n, ...rest } = body;
    const upd = await d.admin.raw('PUT', '/api/v1/profiles/api-box', {
      ...rest,
      environment: { ...body.environment, memory_mb: 192 },
    });
    assert.equal(upd.status, 200);
    const drift = await cli.run(['profiles', 'drift', 'p-api']);
    assert.equal(drift.code, 0, drift.stderr);
    assert.match(
      drift.stdout,
      /profile api-box: changed since\n {2}memory_mb: null → 192\nrecreate: hangar create p-api --profile api-box/,
    );
    await d.admin.deleteProfile('api-box');
    assert.equal((await bob.profileDrift('p-api')).available, false);
  });
});
