import assert from 'node:assert/strict';
import type { Environment, GpuInfo } from '../../common/model';
import { gpuRows } from '../../extension/tree/gpuModel';
import { proxyCommand, remoteFolderUri } from '../../extension/attach/remoteUri';
import { nativePlatformDir, nativeProxyPath } from '../../common/nativeProxy';
import { buildCreateRequest, checkName, checkNumber, type CreateAnswers } from '../../extension/create/request';
import {
  envContextValue,
  envDescription,
  envDetails,
  groupEnvironments,
  snapshotDescription,
  statusIcon,
} from '../../extension/tree/model';

export function fakeEnv(over: Partial<Environment> = {}): Environment {
  return {
    id: 'id-' + (over.name ?? 'a'),
    name: 'a',
    owner_id: 'u',
    deployment_mode: 'docker_local',
    environment_type: 'ide',
    gpu_mode: 'none',
    storage_type: 'local',
    storage_config: null,
    lifecycle_policy: 'persistent',
    network_config: null,
    use_jumpserver: false,
    vnc_port: null,
    rdp_port: null,
    backend_id: 'local',
    backend_ref: 'c1',
    image: 'img:1',
    image_pull_policy: 'if-not-present',
    cpu: null,
    memory_mb: null,
    gpu_count: 0,
    gpu_device_ids: [],
    gpu_model: null,
    gpu_mig_profile: null,
    env_vars: {},
    ssh_user: 'hangar',
    ssh_server: 'agent',
    host_key: null,
    status: 'running',
    status_message: null,
    created_at: '2026-01-01T00:00:00Z',
    updated_at: '2026-01-01T00:00:00Z',
    ...over,
  };
}

describe('extension: tree model', () => {
  it('groups by status in a fixed order with names sorted, and filters', () => {
    const envs = [
      fakeEnv({ name: 'b' }),
      fakeEnv({ name: 'a' }),
      fakeEnv({ name: 'gamma', status: 'stopped' }),
      fakeEnv({ name: 'd', status: 'failed' }),
      fakeEnv({ name: 'e', status: 'creating' }),
    ];
    const g = groupEnvironments(envs);
    assert.deepEqual(
      g.map((x) => [x.group, x.envs.map((e) => e.name)]),
      [
        ['running', ['a', 'b']],
        ['busy', ['e']],
        ['stopped', ['gamma']],
        ['problem', ['d']],
      ],
    );
    assert.deepEqual(
      groupEnvironments(envs, 'GAM').map((x) => x.envs.map((e) => e.name)),
      [['gamma']],
    );
  });

  it('contextValue carries state tags that menus match', () => {
    assert.equal(envContextValue(fakeEnv()), 'hangarEnv+running+ssh+jupyter');
    assert.equal(envContextValue(fakeEnv({ status: 'stopped', environment_type: 'terminal' })), 'hangarEnv+stopped');
    assert.equal(
      envContextValue(fakeEnv({ environment_type: 'desktop', status: 'running' })),
      'hangarEnv+running+ssh+desktop',
    );
    // VMs carry +vm (snapshot actions), after the tags the other menus match.
    assert.equal(
      envContextValue(fakeEnv({ deployment_mode: 'vm', environment_type: 'terminal', status: 'stopped' })),
      'hangarEnv+stopped+vm',
    );
    // A running pod with a read-write dataset offers "Sync Datasets Back"; read-only ones, Docker or stopped: not.
    const ds = (read_only: boolean) => ({
      storage_config: { mounts: [{ type: 'dataset' as const, source: 'd', target: '/data', read_only }] },
    });
    const pod = { deployment_mode: 'k8s_pod' as const, environment_type: 'terminal' as const };
    assert.equal(envContextValue(fakeEnv({ ...pod, ...ds(false) })), 'hangarEnv+running+ssh+syncds');
    assert.equal(envContextValue(fakeEnv({ ...pod, ...ds(true) })), 'hangarEnv+running+ssh');
    assert.equal(envContextValue(fakeEnv({ ...pod, ...ds(false), status: 'stopped' })), 'hangarEnv+stopped');
    assert.equal(
      envContextValue(fakeEnv({ ...ds(false), deployment_mode: 'docker_local', environment_type: 'terminal' })),
      'hangarEnv+running+ssh',
    );
    assert.equal(
      snapshotDescription({
        name: 's1',
        created_at: '2026-11-30T15:04:05.000Z',
        state: 'running',
        description: null,
        current: true,
      }),
      'current · with memory · 2026-11-30 15:04',
    );
    assert.equal(
      snapshotDescription({
        name: 's2',
        created_at: '2026-11-30T15:04:05.000Z',
        state: 'shutoff',
        description: null,
        current: false,
      }),
      'disk only · 2026-11-30 15:04',
    );
    // The regexes package.json uses:
    assert.match('hangarEnv+running+ssh+jupyter', /^hangarEnv\+running.*\+jupyter/);
    assert.doesNotMatch('hangarEnv+stopped', /^hangarEnv\+running/);
  });

  it('descriptions, icons and details', () => {
    const e = fakeEnv({
      gpu_mode: 'exclusive',
      gpu_count: 2,
      cpu: 4,
      memory_mb: 8192,
      network_config: { ports: [{ container_port: 8080 }] },
      storage_config: { mounts: [{ type: 'volume', source: 'data', target: '/data' }] },
    });
    assert.equal(envDescription(e), 'ide · local · 2× GPU');
    assert.equal(statusIcon('running').color, 'testing.iconPassed');
    assert.equal(statusIcon('starting').id, 'loading~spin');
    const d = Object.fromEntries(envDetails(e).map((x) => [x.label, x.value]));
    assert.equal(d.Resources, '4 CPU, 8192 MiB');
    assert.equal(d.Ports, '127.0.0.1:*→8080/tcp');
    assert.equal(d.Storage, 'local, data→/data');
  });

  it('groups 10,000 environments quickly enough to rebuild on every event', () => {
    const many = Array.from({ length: 10_000 }, (_, i) =>
      fakeEnv({ id: `e${i}`, name: `env-${i}`, status: (['running', 'stopped', 'failed'] as const)[i % 3] }),
    );
    const groups = groupEnvironments(many);
    assert.equal(
      groups.reduce((n, g) => n + g.envs.length, 0),
      10_000,
    );
  });
});

describe('extension: GPUs view model', () => {
  const g = (over: Partial<GpuInfo>): GpuInfo => ({
    id: 'GPU-1',
    backend_id: 'local',
    node: 'local',
    kind: 'gpu',
    index: 0,
    model: 'NVIDIA H100 80GB HBM3',
    memory_mb: 81559,
    pci_bus_id: null,
    driver: '550',
    mig_mode: 'disabled',
    parent_id: null,
    profile: null,
    utilization: 0,
    health: 'ok',
    health_message: null,
    capacity: 4,
    present: true,
    last_seen: '',
    free: 4,
    holders: [],
    ...over,
  });
  it('hosts with free counts; GPUs with memory, state and holders; MIG instances under their GPU', () => {
    const rows = gpuRows([
      g({}),
      g({
        id: 'GPU-2',
        index: 1,
        free: 0,
        holders: [{ env_id: 'e', env_name: 'train', owner_id: 'u', mode: 'exclusive' }],
      }),
      g({ id: 'GPU-3', index: 2, mig_mode: 'enabled', free: 0 }),
      g({ id: 'MIG-a', kind: 'mig', index: 0, parent_id: 'GPU-3', profile: '1g.10gb', free: 1, capacity: 1 }),
      g({ id: 'GPU-4', index: 3, present: false, free: 0 }),
    ]);
    assert.equal(rows.length, 1);
    assert.equal(rows[0].label, 'local');
    assert.equal(rows[0].description, '1 of 4 free');
    assert.deepEqual(
      rows[0].gpus.map((x) => x.description),
      ['80 GiB · free', '80 GiB · in use · train (exclusive)', '80 GiB · MIG', '80 GiB · gone'],
    );
    assert.deepEqual(rows[0].gpus[2].children, [{ label: 'MIG 1g.10gb', description: 'free' }]);
  });
  it('a libvirt host: vGPU slots grouped per mdev type under their GPU, not listed as GPUs', () => {
    const slot = (i: number, held = false) =>
      g({
        id: `pci_0000_41_00_0/nvidia-472#${i}`,
        backend_id: 'kvm',
        node: 'kvm',
        kind: 'mdev',
        index: i,
        parent_id: 'pci_0000_41_00_0',
        profile: 'nvidia-472',
        capacity: 1,
        free: held ? 0 : 1,
        holders: held ? [{ env_id: 'e', env_name: 'vm1', owner_id: 'u', mode: 'vgpu' }] : [],
      });
    const rows = gpuRows([
      g({
        id: 'pci_0000_41_00_0',
        backend_id: 'kvm',
        node: 'kvm',
        model: 'A100 SXM4 40GB',
        memory_mb: null,
        capacity: 1,
        free: 1,
      }),
      slot(0, true),
      slot(1),
      slot(2),
    ]);
    assert.equal(rows[0].gpus.length, 1);
    assert.deepEqual(rows[0].gpus[0].children, [
      { label: 'vGPU nvidia-472', description: '2 of 3 free · held by vm1' },
    ]);
  });
});

describe('extension: create request', () => {
  const answers: CreateAnswers = {
    name: 'dev',
    environment_type: 'ide',
    backend: { id: 'local', kind: 'docker' },
    image: 'img:1',
    cpu: '2',
    memory: '',
    gpu_mode: 'none',
    gpu_count: '',
    gpu_device_ids: '',
    storage_type: 'local',
    lifecycle_policy: 'persistent',
    use_jumpserver: false,
  };
  it("maps answers to the API request with the backend's deployment mode", () => {
    const r = buildCreateRequest(answers);
    assert.deepEqual(r.request, {
      ...r.request,
      name: 'dev',
      deployment_mode: 'docker_local',
      cpu: 2,
      memory_mb: null,
      gpu_count: 0,
      gpu_device_ids: [],
    });
    assert.equal(
      buildCreateRequest({ ...answers, backend: { id: 'k', kind: 'kubernetes' } }).request!.deployment_mode,
      'k8s_pod',
    );
  });
  it('GPU ids or a count', () => {
    const r = buildCreateRequest({
      ...answers,
      gpu_mode: 'exclusive',
      gpu_device_ids: 'GPU-0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0, GPU-1a2b3c4d-5e6f-7081-92a3-b4c5d6e7f809',
    });
    assert.equal(r.request!.gpu_count, 2);
    assert.equal(buildCreateRequest({ ...answers, gpu_mode: 'exclusive', gpu_count: '4' }).request!.gpu_count, 4);
  });
  it('rejects what the daemon would, naming the field', () => {
    assert.match(buildCreateRequest({ ...answers, name: 'Bad Name' }).error!, /^name:/);
    assert.match(buildCreateRequest({ ...answers, cpu: '-1' }).error!, /^cpu:/);
    assert.equal(checkName('ok-1'), undefined);
    assert.ok(checkName('a/b'));
    assert.equal(checkNumber('', { min: 1, optional: true }), undefined);
    assert.equal(checkNumber('1.5', { min: 1, integer: true }), 'must be a whole number');
  });
});

describe('extension: Remote-SSH URI and ProxyCommand', () => {
  it('builds vscode-remote URIs on the gateway alias', () => {
    assert.equal(
      remoteFolderUri('http://127.0.0.1:7420', 'dev', '/home/hangar'),
      'vscode-remote://ssh-remote+hangar.127.0.0.1-7420--dev/home/hangar',
    );
  });
  it('runs Electron as Node inside desktop VS Code, quoting paths with spaces', () => {
    assert.equal(
      proxyCommand({
        execPath: '/usr/share/code/code',
        electron: true,
        cliScript: '/x/dist/hangar.js',
        configDir: '/home/u/.config/Code/User/globalStorage/hangar-dev.hangar/cli',
        platform: 'linux',
      }),
      '/usr/bin/env ELECTRON_RUN_AS_NODE=1 /usr/share/code/code /x/dist/hangar.js --config-dir /home/u/.config/Code/User/globalStorage/hangar-dev.hangar/cli',
    );
    assert.equal(
      proxyCommand({
        execPath: '/opt/node',
        electron: false,
        cliScript: '/a b/hangar.js',
        configDir: '/c',
        platform: 'linux',
      }),
      '/opt/node "/a b/hangar.js" --config-dir /c',
    );
  });
  it('names the bundled native proxy when there is one: no runtime, no `node` on PATH needed on Windows', () => {
    assert.equal(
      proxyCommand({
        execPath: 'C:\\VSCode\\Code.exe',
        electron: true,
        cliScript: 'C:\\ext\\dist\\hangar.js',
        configDir: 'C:\\Users\\u\\cli',
        platform: 'win32',
        nativeProxy: 'C:\\ext\\dist\\native\\windows-amd64\\hangar-proxy.exe',
      }),
      '"C:\\\\ext\\\\dist\\\\native\\\\windows-amd64\\\\hangar-proxy.exe" --config-dir "C:\\\\Users\\\\u\\\\cli"',
    );
    assert.equal(nativePlatformDir('win32', 'arm64'), 'windows-arm64');
    assert.equal(nativePlatformDir('darwin', 'x64'), 'darwin-amd64');
    assert.equal(nativePlatformDir('freebsd', 'x64'), undefined);
    assert.equal(nativeProxyPath('/nonexistent'), undefined);
  });
});
