// The profile service over a real (SQLite) store: who sees what, admin-only writes, config profiles read-only,
// the full form refused for roles restricted to profiles, and team usage as quotas count it.
import assert from 'node:assert/strict';
import type { Kysely } from 'kysely';
import type { User } from '../../common/model';
import { profileSchema } from '../../common/profiles';
import { ConflictError, ForbiddenError, NotFoundError } from '../../daemon/errors';
import { ProfileService } from '../../daemon/profiles/service';
import { openDatabase } from '../../daemon/store/db';
import { ProfileRepo } from '../../daemon/store/profiles';
import type { Database } from '../../daemon/store/schema';
import { AuditRepo } from '../../daemon/store/users';
import { tmpDir } from '../helpers/tmp';

const u = (role: 'admin' | 'user', team: string | null): User => ({
  id: `${role}-${team}`,
  name: 'x',
  role,
  team,
  created_at: '',
});
const box = (name: string, teams: string[] = []) =>
  profileSchema.parse({ name, display_name: name, environment: { image: 'a/b:1' }, teams });

describe('profiles: the service', () => {
  let db: Kysely<Database>;
  let s: ProfileService;
  before(async () => {
    db = await openDatabase(tmpDir('hangar-prof-'));
    s = new ProfileService({
      repo: new ProfileRepo(db),
      audit: new AuditRepo(db),
      configured: [box('ml-box', ['ml']), box('open')],
      onlyForRoles: ['user'],
    });
  });
  after(() => db.destroy());

  it('lists what the caller may use; an admin sees all and may use the full form', async () => {
    assert.deepEqual(
      (await s.list(u('user', 'ml'))).profiles.map((p) => p.name),
      ['ml-box', 'open'],
    );
    assert.deepEqual(
      (await s.list(u('user', 'web'))).profiles.map((p) => p.name),
      ['open'],
    );
    assert.equal((await s.list(u('user', 'web'))).custom_allowed, false);
    assert.equal((await s.list(u('admin', null))).custom_allowed, true);
    await assert.rejects(s.get(u('user', 'web'), 'ml-box'), NotFoundError);
    assert.throws(() => s.assertCustomAllowed(u('user', 'ml')), ForbiddenError);
    s.assertCustomAllowed(u('admin', null));
  });

  it('admins define API profiles; config ones are read-only; users may not write', async () => {
    const admin = u('admin', null);
    await assert.rejects(s.create(u('user', 'ml'), box('mine')), ForbiddenError);
    const made = await s.create(admin, box('api-one', ['web']));
    assert.equal(made.source, 'api');
    assert.deepEqual(
      (await s.list(u('user', 'web'))).profiles.map((p) => p.name),
      ['open', 'api-one'],
    );
    await assert.rejects(s.create(admin, box('open')), ConflictError);
    await assert.rejects(s.update(admin, box('ml-box')), /configuration file/);
    await assert.rejects(s.delete(admin, 'open'), ConflictError);
    const changed = await s.update(admin, { ...box('api-one', ['web']), description: 'new' });
    assert.notEqual(changed.hash, '');
    await s.delete(admin, 'api-one');
    await assert.rejects(s.get(admin, 'api-one'), NotFoundError);
  });

  it('team usage: resources of active envs, every env counted; a start leaves its own env out', async () => {
    const now = new Date().toISOString();
    await db.insertInto('users').values({ id: 'w1', name: 'w1', role: 'user', team: 'ml', created_at: now }).execute();
    const row = (id: string, status: string, gpu: number, cpu: number | null) => ({
      id,
      name: id,
      owner_id: 'w1',
      deployment_mode: 'docker_local',
      environment_type: 'terminal',
      gpu_mode: 'exclusive',
      storage_type: 'local',
      storage_config: null,
      lifecycle_policy: 'persistent',
      network_config: null,
      use_jumpserver: 0,
      vnc_port: null,
      vnc_password: null,
      rdp_port: null,
      rdp_password: null,
      declared_access: null,
      backend_id: 'local',
      backend_ref: null,
      image: 'a',
      image_pull_policy: 'never',
      cpu,
      memory_mb: 512,
      gpu_count: gpu,
      gpu_device_ids: '[]',
      gpu_model: null,
      gpu_mig_profile: null,
      env_vars: '{}',
      ssh_user: 'h',
      host_key: null,
      jupyter_token: null,
      status,
      status_message: null,
      created_at: now,
      updated_at: now,
    });
    await db
      .insertInto('environments')
      .values([row('e1', 'running', 2, 1), row('e2', 'stopped', 4, 2), row('e3', 'pending', 1, null)])
      .execute();
    const repo = new ProfileRepo(db);
    assert.deepEqual(await repo.teamUsage('ml'), { gpus: 3, cpu: 1, memory_mb: 1024, environments: 3 });
    assert.deepEqual(await repo.teamUsage('ml', 'e1'), { gpus: 1, cpu: 0, memory_mb: 512, environments: 3 });
    assert.equal(await repo.teamOf('w1'), 'ml');
  });
});
