// Profiles: resolution (fixed fields, options, who may use it), drift, quotas, and the sample config.
import assert from 'node:assert/strict';
import path from 'node:path';
import type { User } from '../../common/model';
import {
  createFromProfileSchema,
  mayUse,
  profileSchema,
  profileSummary,
  type ProfileInput,
} from '../../common/profiles';
import { loadConfig } from '../../daemon/config';
import { ForbiddenError, InputError, NotFoundError, ConflictError } from '../../daemon/errors';
import { checkQuota, quotaProblem } from '../../daemon/profiles/quota';
import { drift, profileHash, resolve } from '../../daemon/profiles/resolve';

const user = (role: 'admin' | 'user', team: string | null = 'ml'): User => ({
  id: `u-${role}-${team}`,
  name: 'u',
  role,
  team,
  created_at: '',
});
const def: ProfileInput = {
  name: 'pytorch-a100',
  display_name: 'PyTorch A100',
  environment: {
    image: 'nvcr.io/nvidia/pytorch:24.07-py3',
    gpu_mode: 'exclusive',
    gpu_model: 'A100',
    cpu: 8,
    lifecycle_policy: 'persistent',
  },
  options: {
    gpu_count: { choices: [1, 2, 4, 8], default: 1 },
    storage_config: {
      choices: [
        { label: 'imagenet', value: { mounts: [{ type: 'host_path', source: 'imagenet', target: '/data' }] } },
        { label: 'none', value: null },
      ],
      default: { label: 'none', value: null },
    },
  },
  teams: ['ml'],
};
const profile = profileSchema.parse(def);
const req = (extra: Record<string, unknown> = {}) =>
  createFromProfileSchema.parse({ name: 'dev', profile: 'pytorch-a100', ...extra });

describe('profiles: resolution', () => {
  it('fixed fields, default options and schema defaults make the create input', () => {
    const { input, origin } = resolve(profile, req(), user('user'));
    assert.equal(input.image, 'nvcr.io/nvidia/pytorch:24.07-py3');
    assert.equal(input.gpu_count, 1);
    assert.equal(input.gpu_model, 'A100');
    assert.equal(input.cpu, 8);
    assert.equal(input.storage_config, null);
    assert.equal(input.deployment_mode, 'docker_local');
    assert.equal(origin.profile, 'pytorch-a100');
    assert.equal(origin.snapshot.hash, profileHash(profile));
    assert.equal(origin.snapshot.fields.gpu_count, 1);
  });

  it('options by value, by text (the CLI) and by label', () => {
    const a = resolve(profile, req({ options: { gpu_count: 4 } }), user('user')).input;
    assert.equal(a.gpu_count, 4);
    const b = resolve(profile, req({ options: { gpu_count: '2', storage_config: 'imagenet' } }), user('user')).input;
    assert.equal(b.gpu_count, 2);
    assert.deepEqual(b.storage_config?.mounts?.[0].source, 'imagenet');
  });

  it('an option outside its choices, or no such option: 400 naming options.<field>', () => {
    for (const options of [{ gpu_count: 3 }, { gpu_count: 'lots' }, { memory_mb: 1024 }]) {
      assert.throws(
        () => resolve(profile, req({ options }), user('user')),
        (e: unknown) => e instanceof InputError && e.field === `options.${Object.keys(options)[0]}`,
      );
    }
  });

  it('a fixed field in the request: 403 naming it; an option given as a field: 400 pointing at options', () => {
    for (const [field, value] of [
      ['image', 'evil:latest'],
      ['cpu', 64],
      ['deployment_mode', 'k8s_pod'],
      ['memory_mb', 512],
    ] as const) {
      assert.throws(
        () => resolve(profile, req({ [field]: value }), user('user')),
        (e: unknown) =>
          e instanceof ForbiddenError &&
          e.details?.field === field &&
          new RegExp(`^${field}: is fixed`).test(e.message),
      );
    }
    assert.throws(
      () => resolve(profile, req({ gpu_count: 2 }), user('user')),
      (e: unknown) => e instanceof InputError && /options\.gpu_count/.test(e.message),
    );
  });

  it('free fields pass through (env vars, ssh user)', () => {
    const { input } = resolve(profile, req({ env_vars: { A: '1' }, ssh_user: 'dev' }), user('user'));
    assert.deepEqual(input.env_vars, { A: '1' });
    assert.equal(input.ssh_user, 'dev');
  });

  it("who may use it: its teams and roles, admins always; another team's profile is a 404", () => {
    assert.ok(mayUse(profile, user('user', 'ml')));
    assert.ok(!mayUse(profile, user('user', 'web')));
    assert.ok(!mayUse(profile, user('user', null)));
    assert.ok(mayUse(profile, user('admin', null)));
    assert.ok(!mayUse({ teams: [], roles: ['admin'] }, user('user')));
    assert.ok(mayUse({ teams: [], roles: [] }, user('user', null)));
    assert.throws(() => resolve(profile, req(), user('user', 'web')), NotFoundError);
  });

  it('a profile is checked when defined: an option fixed too, a default not among the choices', () => {
    assert.throws(() => profileSchema.parse({ ...def, options: { cpu: { choices: [1], default: 1 } } }), /also fixed/);
    assert.throws(
      () => profileSchema.parse({ ...def, options: { gpu_count: { choices: [1, 2], default: 4 } } }),
      /not one of the choices/,
    );
    assert.throws(
      () => profileSchema.parse({ ...def, options: { name: { choices: ['x'], default: 'x' } } }),
      /not an option/,
    );
  });

  it('drift lists the fields the profile would now give differently', () => {
    const then = resolve(profile, req({ options: { gpu_count: 2 } }), user('user')).origin.snapshot.fields;
    const changed = profileSchema.parse({
      ...def,
      environment: { ...def.environment, image: 'nvcr.io/nvidia/pytorch:24.09-py3' },
    });
    const now = resolve(changed, req({ options: { gpu_count: 2 } }), user('user')).origin.snapshot.fields;
    assert.deepEqual(drift(then, now), [
      { field: 'image', env: 'nvcr.io/nvidia/pytorch:24.07-py3', profile: 'nvcr.io/nvidia/pytorch:24.09-py3' },
    ]);
    assert.deepEqual(drift(then, then), []);
    assert.notEqual(profileHash(profile), profileHash(changed));
  });

  it('a summary says image, mode, GPUs, storage and lifecycle', () => {
    assert.match(
      profileSummary(profile),
      /pytorch:24\.07-py3 · docker_local · 1\/2\/4\/8× A100 · storage: imagenet\/none · lifecycle persistent/,
    );
  });
});

describe('profiles: team quotas', () => {
  const used = { gpus: 7, cpu: 10, memory_mb: 4096, environments: 3 };
  it('the refusal carries the numbers', () => {
    assert.equal(
      quotaProblem('ml', { gpus: 8 }, used, { gpus: 2, cpu: null, memory_mb: null, environments: 1 }),
      'team ml: 7 of 8 GPUs in use, this asks 2',
    );
    assert.equal(
      quotaProblem('ml', { environments: 3 }, used, { gpus: 0, cpu: null, memory_mb: null, environments: 1 }),
      'team ml: 3 of 3 environments in use, this asks 1',
    );
    assert.equal(
      quotaProblem('ml', { memory_mb: 8192 }, used, { gpus: 0, cpu: 1, memory_mb: 8192, environments: 0 }),
      'team ml: 4096 of 8192 MiB of memory in use, this asks 8192',
    );
    assert.throws(
      () => checkQuota('ml', { cpu: 12 }, used, { gpus: 0, cpu: 4, memory_mb: null, environments: 0 }),
      (e: unknown) =>
        e instanceof ConflictError && /quota exceeded: team ml: 10 of 12 CPUs in use, this asks 4/.test(e.message),
    );
  });
  it('fits: nothing said; no quota, or an ask of 0 of a resource, never refuses', () => {
    assert.equal(
      quotaProblem('ml', { gpus: 8 }, used, { gpus: 1, cpu: null, memory_mb: null, environments: 1 }),
      undefined,
    );
    assert.equal(
      quotaProblem('ml', { gpus: 7 }, used, { gpus: 0, cpu: 1, memory_mb: null, environments: 1 }),
      undefined,
    );
    checkQuota('ml', undefined, used, { gpus: 100, cpu: 100, memory_mb: 1, environments: 1 });
  });
});

describe('profiles: configuration', () => {
  it('the sample config (examples/hangar.yaml) loads: seven profiles, quotas, users restricted to profiles', () => {
    const c = loadConfig({ argv: ['--config', path.resolve(__dirname, '../../examples/hangar.yaml')] });
    assert.deepEqual(
      c.profiles.map((p) => p.name),
      ['ide', 'desktop', 'pytorch-a100', 'batch-train', 'nightly-train', 'inference', 'data-dask'],
    );
    assert.deepEqual([...new Set(c.profiles.map((p) => p.environment.environment_type))].sort(), [
      'data_process',
      'desktop',
      'ide',
      'inference',
      'training',
    ]);
    assert.deepEqual(c.quotas.ml, { gpus: 8, cpu: 64, memory_mb: 262144, environments: 20 });
    assert.deepEqual(c.profiles_only_for_roles, ['user']);
  });
  it('a profile that makes no valid create, a duplicate, an unknown backend or key: refused at load', async () => {
    const fs = await import('node:fs');
    const { tmpDir } = await import('../helpers/tmp');
    const file = path.join(tmpDir(), 'c.yaml');
    const one = (env: string) => `profiles:\n  - {name: p, display_name: P, environment: ${env}}\n`;
    fs.writeFileSync(file, one('{image: x, deployment_mode: k8s_job}'));
    assert.throws(() => loadConfig({ argv: ['--config', file] }), /profiles\.0 \(p\): command: is required/);
    fs.writeFileSync(file, one('{image: x}') + '  - {name: p, display_name: Q}\n');
    assert.throws(() => loadConfig({ argv: ['--config', file] }), /profiles\.1\.name: duplicate name 'p'/);
    fs.writeFileSync(file, one('{image: x, backend_id: nope}'));
    assert.throws(
      () => loadConfig({ argv: ['--config', file] }),
      /profiles\.0\.environment\.backend_id: no backend 'nope'/,
    );
    fs.writeFileSync(file, one('{image: x, colour: red}'));
    assert.throws(() => loadConfig({ argv: ['--config', file] }), /profiles\.0\.environment\.colour: unknown key/);
  });
});
