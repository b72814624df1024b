import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { choose } from '../../daemon/gpu/allocate';
import { parseList, parseQuery } from '../../daemon/backends/docker/nvidiaSmi';
import type { GpuDevice, GpuGrant } from '../../daemon/contract';

const fixture = (c: string, f: string) =>
  fs.readFileSync(path.resolve(__dirname, '../fixtures/nvidia-smi', c, f), 'utf8');
function inventory(c: string): { devices: GpuDevice[]; problems: string[] } {
  const q = parseQuery(fixture(c, 'query.csv'), 'b', 'host');
  const l = parseList(fixture(c, 'list.txt'), 'b', 'host', q.items);
  return { devices: [...q.items, ...l.items], problems: [...q.problems, ...l.problems] };
}
const grant = (device_id: string, mode: GpuGrant['mode'] = 'exclusive'): GpuGrant => ({
  id: device_id + mode,
  env_id: 'e',
  device_id,
  mode,
  created_at: '',
});

describe('gpu: nvidia-smi parsers (fixtures in the real formats)', () => {
  it('A100 with MIG on one GPU: whole GPUs plus MIG instances under their parent', () => {
    const { devices, problems } = inventory('a100-mig-535');
    assert.deepEqual(problems, []);
    const [g0, g1] = devices;
    assert.equal(g0.model, 'NVIDIA A100-SXM4-80GB');
    assert.equal(g0.memory_mb, 81920);
    assert.equal(g0.pci_bus_id, '00000000:07:00.0');
    assert.equal(g0.driver, '535.104.05');
    assert.equal(g0.mig_mode, 'enabled');
    assert.equal(g0.utilization, null);
    assert.equal(g1.mig_mode, 'disabled');
    const mig = devices.filter((d) => d.kind === 'mig');
    assert.deepEqual(
      mig.map((m) => m.profile),
      ['2g.20gb', '1g.10gb', '1g.10gb', '1g.10gb'],
    );
    assert.ok(mig.every((m) => m.parent_id === g0.id && m.id.startsWith('MIG-')));
    assert.equal(mig[1].memory_mb, 10240);
  });

  it('8× H100 on driver 550', () => {
    const { devices } = inventory('h100-550');
    assert.equal(devices.length, 8);
    assert.ok(devices.every((d) => d.model === 'NVIDIA H100 80GB HBM3' && d.health === 'ok'));
    assert.deepEqual(
      devices.map((d) => d.index),
      [0, 1, 2, 3, 4, 5, 6, 7],
    );
  });

  it('a GPU that needs a reset is kept and flagged; an unparsable line is reported, not fatal', () => {
    const { devices, problems } = inventory('rtx3090-470-error');
    assert.equal(devices.length, 3);
    assert.equal(devices[1].health, 'error');
    assert.match(devices[1].health_message!, /GPU requires reset/);
    assert.equal(devices[0].mig_mode, 'n/a');
    assert.equal(problems.length, 1);
    assert.match(problems[0], /line 4/);
  });

  it('old-driver MIG ids (MIG-GPU-<uuid>/<gi>/<ci>)', () => {
    const { devices } = inventory('a100-legacy-460');
    assert.deepEqual(
      devices.filter((d) => d.kind === 'mig').map((d) => d.id),
      ['MIG-GPU-5d5ba0d6-d33d-2b2c-524d-9e3d8d2b8a77/1/0', 'MIG-GPU-5d5ba0d6-d33d-2b2c-524d-9e3d8d2b8a77/2/0'],
    );
  });

  it('garbage in, problems out', () => {
    const r = parseQuery('hello\n0, not-a-uuid, x, y, 1, 2, 3, 4, Disabled\n', 'b', 'h');
    assert.equal(r.items.length, 0);
    assert.equal(r.problems.length, 2);
  });
});

describe('gpu: allocator', () => {
  const h100 = inventory('h100-550').devices.map((d) => ({ ...d, capacity: 4 }));
  const a100 = inventory('a100-mig-535').devices.map((d) => ({ ...d, capacity: d.kind === 'gpu' ? 4 : 1 }));

  it('exclusive: N whole GPUs, lowest index first, never one that is held', () => {
    const r = choose(
      { mode: 'exclusive', count: 2, model: null, profile: null, deviceIds: [] },
      h100,
      [grant(h100[0].id)],
      'h',
    );
    assert.deepEqual(r, { ok: true, deviceIds: [h100[1].id, h100[2].id] });
  });

  it('model selection, and a reason naming the missing model and what is free', () => {
    const r = choose(
      { mode: 'exclusive', count: 1, model: 'A100', profile: null, deviceIds: [] },
      h100,
      [],
      "backend 'x'",
    );
    assert.equal(r.ok, false);
    assert.match(
      (r as { reason: string }).reason,
      /need 1× A100 on backend 'x'; 8 of 8 NVIDIA H100 80GB HBM3 free \(no A100 on backend 'x' at all\)/,
    );
    const full = choose({ mode: 'exclusive', count: 9, model: 'H100', profile: null, deviceIds: [] }, h100, [], 'h');
    assert.match((full as { reason: string }).reason, /need 9× H100 on h; 8 of 8/);
  });

  it('a GPU with MIG on is only granted as instances', () => {
    const whole = choose({ mode: 'exclusive', count: 2, model: null, profile: null, deviceIds: [] }, a100, [], 'h');
    assert.equal(whole.ok, false);
    const mig = choose(
      { mode: 'mig', count: 1, model: null, profile: '1g.10gb', deviceIds: [] },
      a100,
      [grant('MIG-1e2d3c4b-5a69-5788-96a5-b4c3d2e1f002', 'mig')],
      'h',
    );
    assert.deepEqual(mig, { ok: true, deviceIds: ['MIG-1e2d3c4b-5a69-5788-96a5-b4c3d2e1f003'] });
    const none = choose({ mode: 'mig', count: 1, model: null, profile: '7g.80gb', deviceIds: [] }, a100, [], 'h');
    assert.match((none as { reason: string }).reason, /profiles there: 2g.20gb, 1g.10gb/);
  });

  it('shared: least-loaded GPU with a replica left, never one held exclusively', () => {
    const two = h100.slice(0, 2);
    const r = choose(
      { mode: 'shared', count: 1, model: null, profile: null, deviceIds: [] },
      two,
      [grant(two[0].id, 'shared')],
      'h',
    );
    assert.deepEqual(r, { ok: true, deviceIds: [two[1].id] });
    const held = choose(
      { mode: 'shared', count: 1, model: null, profile: null, deviceIds: [] },
      two,
      [grant(two[0].id), grant(two[1].id)],
      'h',
    );
    assert.equal(held.ok, false);
    const full = choose(
      { mode: 'shared', count: 1, model: null, profile: null, deviceIds: [] },
      [two[0]],
      [1, 2, 3, 4].map((i) => ({ ...grant(two[0].id, 'shared'), id: String(i) })),
      'h',
    );
    assert.equal(full.ok, false);
    assert.equal(
      choose(
        { mode: 'exclusive', count: 1, model: null, profile: null, deviceIds: [] },
        [two[0]],
        [grant(two[0].id, 'shared')],
        'h',
      ).ok,
      false,
    );
  });

  it('explicit devices must exist, be healthy and be free; unhealthy and vanished GPUs are skipped', () => {
    const rtx = inventory('rtx3090-470-error').devices;
    assert.match(
      (
        choose({ mode: 'exclusive', count: 1, model: null, profile: null, deviceIds: [rtx[1].id] }, rtx, [], 'h') as {
          reason: string;
        }
      ).reason,
      /unhealthy/,
    );
    const auto = choose(
      { mode: 'exclusive', count: 2, model: null, profile: null, deviceIds: [] },
      rtx.map((d, i) => (i === 0 ? { ...d, present: false } : d)),
      [],
      'h',
    );
    assert.equal(auto.ok, false, 'one vanished, one unhealthy: only one GPU is grantable');
    assert.deepEqual(
      choose(
        { mode: 'exclusive', count: 1, model: null, profile: null, deviceIds: [] },
        rtx.map((d, i) => (i === 0 ? { ...d, present: false } : d)),
        [],
        'h',
      ),
      { ok: true, deviceIds: [rtx[2].id] },
    );
  });
});
