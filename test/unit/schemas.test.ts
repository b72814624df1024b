import assert from 'node:assert/strict';
import { createEnvironmentSchema, describeZodError } from '../../common/schemas';

function fieldOf(body: unknown): string | undefined {
  const r = createEnvironmentSchema.safeParse(body);
  return r.success ? undefined : describeZodError(r.error).field;
}

describe('create environment validation', () => {
  const ok = { name: 'dev-1', image: 'hangar-test/ssh:latest' };

  it('accepts a minimal request and fills the user model defaults', () => {
    const v = createEnvironmentSchema.parse(ok);
    assert.equal(v.deployment_mode, 'docker_local');
    assert.equal(v.environment_type, 'ide');
    assert.equal(v.gpu_mode, 'none');
    assert.equal(v.storage_type, 'local');
    assert.equal(v.lifecycle_policy, 'persistent');
    assert.equal(v.use_jumpserver, false);
    assert.equal(v.image_pull_policy, 'if-not-present');
  });

  for (const name of ['a/b', '..', 'has space', 'x'.repeat(300), 'UPPER', '-lead', 'trail-', '']) {
    it(`rejects the name ${JSON.stringify(name.length > 20 ? name.slice(0, 10) + '…' : name)}`, () => {
      assert.equal(fieldOf({ ...ok, name }), 'name');
    });
  }

  it('rejects unknown enum values naming the field', () => {
    assert.equal(fieldOf({ ...ok, deployment_mode: 'k8s_podz' }), 'deployment_mode');
    assert.equal(fieldOf({ ...ok, gpu_mode: 'half' }), 'gpu_mode');
    assert.equal(fieldOf({ ...ok, lifecycle_policy: 'forever' }), 'lifecycle_policy');
    assert.equal(fieldOf({ ...ok, storage_type: 'tape' }), 'storage_type');
    const r = createEnvironmentSchema.safeParse({ ...ok, environment_type: 'game' });
    assert.ok(!r.success && /must be one of ide, terminal/.test(describeZodError(r.error).message));
  });

  it('rejects negative CPU, tiny memory and unknown fields', () => {
    assert.equal(fieldOf({ ...ok, cpu: -1 }), 'cpu');
    assert.equal(fieldOf({ ...ok, cpu: 0 }), 'cpu');
    assert.equal(fieldOf({ ...ok, memory_mb: 1 }), 'memory_mb');
    assert.equal(fieldOf({ ...ok, colour: 'red' }), 'colour');
  });

  it('checks GPU requests against gpu_mode', () => {
    assert.equal(fieldOf({ ...ok, gpu_count: 2 }), 'gpu_mode');
    assert.equal(
      fieldOf({ ...ok, gpu_mode: 'exclusive', gpu_device_ids: ['GPU-0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0', 'rm -rf'] }),
      'gpu_device_ids.1',
    );
    assert.equal(fieldOf({ ...ok, gpu_mode: 'exclusive', gpu_count: 1, gpu_device_ids: ['0', '1'] }), 'gpu_count');
    assert.equal(
      fieldOf({ ...ok, gpu_mode: 'exclusive', gpu_device_ids: ['GPU-0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0'] }),
      undefined,
    );
  });

  it('checks ports, mounts, env var names and the login user', () => {
    assert.equal(
      fieldOf({ ...ok, network_config: { ports: [{ container_port: 70000 }] } }),
      'network_config.ports.0.container_port',
    );
    assert.equal(
      fieldOf({ ...ok, network_config: { ports: [{ container_port: 80, host_ip: 'not-an-ip' }] } }),
      'network_config.ports.0.host_ip',
    );
    assert.equal(
      fieldOf({ ...ok, storage_config: { mounts: [{ type: 'bind', source: 'relative', target: '/data' }] } }),
      'storage_config.mounts.0.source',
    );
    assert.equal(
      fieldOf({ ...ok, storage_config: { mounts: [{ type: 'volume', source: 'data', target: '/a/../etc' }] } }),
      'storage_config.mounts.0.target',
    );
    // A host_path names an allowlist entry, never a path; volumes: NAME, team:NAME or id:ID.
    assert.equal(
      fieldOf({ ...ok, storage_config: { mounts: [{ type: 'host_path', source: '/etc', target: '/etc' }] } }),
      'storage_config.mounts.0.source',
    );
    assert.equal(
      fieldOf({ ...ok, storage_config: { mounts: [{ type: 'volume', source: '../x', target: '/x' }] } }),
      'storage_config.mounts.0.source',
    );
    assert.equal(
      fieldOf({
        ...ok,
        storage_config: {
          mounts: [
            { type: 'volume', source: 'team:data', target: '/x' },
            { type: 'host_path', source: 'datasets', target: '/d' },
          ],
        },
      }),
      undefined,
    );
    assert.equal(
      fieldOf({
        ...ok,
        storage_config: { mounts: [{ type: 'volume', source: 'x', target: '/x', volume_id: 'someone-elses' }] },
      }),
      'volume_id',
    );
    assert.equal(fieldOf({ ...ok, env_vars: { 'BAD-NAME': 'x' } }), 'env_vars.BAD-NAME');
    assert.equal(fieldOf({ ...ok, ssh_user: 'root' }), 'ssh_user');
    assert.equal(fieldOf({ ...ok, image: 'img; rm -rf /' }), 'image');
  });
});
