// The Storage view's model (plain data from GET /storage and the envs' mounts) and what "Mount in a new
// environment" pre-fills, down to the create request it becomes.
import assert from 'node:assert/strict';
import type { Environment, StorageOverview } from '../../common/model';
import { buildCreateRequest, type CreateAnswers } from '../../extension/create/request';
import { mountAnswers, storageRows } from '../../extension/tree/storageModel';

const overview: StorageOverview = {
  volumes: [
    {
      id: 'v1',
      name: 'data',
      owner_id: 'u1',
      team: null,
      backend_id: 'kvm',
      backend_name: 'hangar-vol-v1',
      size_gb: 20,
      created_at: '2026-12-01T00:00:00Z',
      mounted_by: [{ id: 'e1', name: 'train' }],
    },
    {
      id: 'v2',
      name: 'shared',
      owner_id: null,
      team: 'ml',
      backend_id: 'local',
      backend_name: 'hangar-vol-v2',
      size_gb: null,
      created_at: '2026-12-01T00:00:00Z',
      mounted_by: [],
    },
  ],
  shares: [{ name: 'homes', kind: 'nfs', read_only: false, sub_directories: 'per_user' }],
  host_paths: [{ name: 'datasets', read_only: true }],
};
const envs = [
  {
    name: 'train',
    storage_config: {
      mounts: [
        { type: 'volume', source: 'data', volume_id: 'v1', target: '/data' },
        { type: 'share', source: 'homes', target: '/home/shared', sub_path: 'alice' },
        { type: 'host_path', source: 'datasets', target: '/ds', read_only: true },
      ],
    },
  },
] as unknown as Environment[];

describe('extension: the Storage view', () => {
  it('sections for volumes, shares and host paths: size, backend, who mounts what where', () => {
    const rows = storageRows(overview, envs);
    assert.deepEqual(
      rows.map((r) => [r.label, r.description]),
      [
        ['Volumes', '2'],
        ['Shares', '1'],
        ['Host paths', '1'],
      ],
    );
    assert.deepEqual(
      rows[0].children!.map((r) => [r.label, r.description, r.context]),
      [
        ['data', '20 GiB · kvm · mounted by train:/data', 'volume'],
        ['ml/shared', 'local · not mounted', 'volume'],
      ],
    );
    assert.equal(rows[1].children![0].description, 'NFS · a directory per user · mounted by train:/home/shared');
    assert.equal(rows[2].children![0].description, 'read-only · mounted by train:/ds (ro)');
    assert.deepEqual(storageRows({ volumes: [], shares: [], host_paths: [] }, []), []);
    // Localized through the view's translate function.
    assert.equal(storageRows(overview, envs, (m) => `«${m}»`)[0].label, '«Volumes»');
  });

  it('"Mount in a new environment" pre-fills one mount (by volume id), nfs for a share, and the volume\'s backend', () => {
    const [vols, shares] = storageRows(overview, envs);
    assert.deepEqual(mountAnswers(vols.children![0]), {
      mounts: [{ type: 'volume', source: 'id:v1', target: '/data/data' }],
      backend_id: 'kvm',
    });
    const share = mountAnswers(shares.children![0])!;
    assert.deepEqual(share, {
      mounts: [{ type: 'share', source: 'homes', target: '/mnt/homes' }],
      storage_type: 'nfs',
    });
    assert.equal(mountAnswers(vols), undefined, 'a section mounts nothing');
    const answers: CreateAnswers = {
      name: 'withshare',
      environment_type: 'terminal',
      backend: { id: 'local', kind: 'docker' },
      image: 'img',
      cpu: '',
      memory: '',
      gpu_mode: 'none',
      gpu_count: '',
      gpu_device_ids: '',
      storage_type: share.storage_type!,
      lifecycle_policy: 'persistent',
      use_jumpserver: false,
      mounts: share.mounts,
    };
    const built = buildCreateRequest(answers);
    assert.equal(built.error, undefined);
    assert.deepEqual(built.request!.storage_config, { mounts: share.mounts });
  });
});
