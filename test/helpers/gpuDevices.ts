// Simulated inventory rows for allocator tests and the allocator bench: host-N with 8 GPUs each, H100/A100 in turn.
import crypto from 'node:crypto';
import type { GpuDevice } from '../../daemon/contract';

export function gpuDevice(i: number, o: Partial<GpuDevice> = {}): GpuDevice {
  return {
    id: `GPU-${i}-${crypto.randomUUID()}`,
    backend_id: 'b',
    node: `host-${Math.floor(i / 8)}`,
    kind: 'gpu',
    index: i % 8,
    model: i % 2 ? 'NVIDIA H100 80GB HBM3' : 'NVIDIA A100-SXM4-80GB',
    memory_mb: 81920,
    pci_bus_id: null,
    driver: '550',
    mig_mode: 'disabled',
    parent_id: null,
    profile: null,
    utilization: 0,
    health: 'ok',
    health_message: null,
    capacity: 1,
    present: true,
    last_seen: new Date().toISOString(),
    ...o,
  };
}
