// EnvSpec → Docker create options. Pure, so the hardening and GPU mapping are unit-tested without an engine.
import type Dockerode from 'dockerode';
import { LABELS, SSHD_CAPABILITIES, type EnvSpec, type SpecMount } from '../../contract';
import { UnprocessableError } from '../../errors';

export function containerName(spec: Pick<EnvSpec, 'name' | 'envId'>): string {
  return `hangar-${spec.name}-${spec.envId.slice(0, 8)}`;
}

export function createOptions(
  spec: EnvSpec,
  gatewayId: string,
  publishAddress: string,
  backendId = 'local',
): Dockerode.ContainerCreateOptions {
  const { exposed, bindings } = portBindings(spec, publishAddress);
  return {
    name: containerName(spec),
    Image: spec.image,
    Hostname: spec.name,
    Entrypoint: spec.command,
    Cmd: [],
    Env: Object.entries(spec.env).map(([k, v]) => `${k}=${v}`),
    Labels: {
      [LABELS.managed]: 'true',
      [LABELS.gateway]: gatewayId,
      [LABELS.backend]: backendId,
      [LABELS.envId]: spec.envId,
      [LABELS.envName]: spec.name,
      [LABELS.owner]: spec.owner,
      ...(spec.record ? { [LABELS.record]: JSON.stringify(spec.record) } : {}),
    },
    ExposedPorts: exposed,
    HostConfig: {
      PortBindings: bindings,
      NanoCpus: spec.cpu ? Math.round(spec.cpu * 1e9) : undefined,
      Memory: spec.memoryMb ? spec.memoryMb * 1024 * 1024 : undefined,
      // Sources were resolved by the gateway (volumes: hangar-vol-<id>; binds: the operator's host_paths).
      Mounts: spec.mounts.map((m, i) =>
        m.type === 'nfs'
          ? nfsMount(spec.envId, i, m, gatewayId)
          : m.type === 'dataset'
            ? noDataset(m.target)
            : { Type: m.type, Source: m.source, Target: m.target, ReadOnly: m.read_only ?? false },
      ),
      DeviceRequests: gpuDeviceRequests(spec.gpus),
      Privileged: false,
      SecurityOpt: ['no-new-privileges:true'],
      CapDrop: ['ALL'],
      CapAdd: SSHD_CAPABILITIES,
      Init: true,
      RestartPolicy: { Name: 'unless-stopped' },
    },
  };
}

type PortBindings = Record<string, { HostIp: string; HostPort: string }[]>;

/** ExposedPorts and PortBindings for the spec's ports; unpinned host ports are left to the engine (''). */
function portBindings(
  spec: EnvSpec,
  publishAddress: string,
): { exposed: Record<string, object>; bindings: PortBindings } {
  const exposed: Record<string, object> = {};
  const bindings: PortBindings = {};
  for (const p of spec.ports) {
    const key = `${p.container_port}/${p.protocol ?? 'tcp'}`;
    exposed[key] = {};
    (bindings[key] ??= []).push({
      HostIp: p.host_ip ?? publishAddress,
      HostPort: p.host_port ? String(p.host_port) : '',
    });
  }
  return { exposed, bindings };
}

/** The NVIDIA device request for the spec's GPUs, or none when it asks for none. */
function gpuDeviceRequests(gpus: EnvSpec['gpus']): Dockerode.DeviceRequest[] | undefined {
  if (gpus.mode === 'none' || (gpus.deviceIds.length === 0 && gpus.count === 0)) return undefined;
  return [
    gpus.deviceIds.length > 0
      ? // Exact devices by UUID (indexes can change across reboots); Count and DeviceIDs are exclusive.
        { Driver: 'nvidia', DeviceIDs: gpus.deviceIds, Capabilities: [['gpu']], Options: {} }
      : { Driver: 'nvidia', Count: gpus.count, Capabilities: [['gpu']], Options: {} },
  ];
}

/** The Docker volume name of an env's share mount: from the env id and position only. */
export const shareVolumeName = (envId: string, i: number) => `hangar-share-${envId}-${i}`;

/** A share as a local-driver volume the engine makes at container create: type=nfs (or ceph), o=addr=…,nfsvers=…
 *  plus the share's options, device=:<export>[/<sub>]. The engine's host kernel mounts it when the container starts. */
export function nfsMount(envId: string, i: number, m: SpecMount, gatewayId: string) {
  const n = m.nfs!;
  const o =
    n.kind === 'cephfs'
      ? [
          `name=${n.cephUser ?? 'hangar'}`,
          ...(n.secret ? [`secret=${n.secret}`] : []),
          ...n.options,
          ...(m.read_only ? ['ro'] : []),
        ]
      : [`addr=${n.server}`, `nfsvers=${n.version}`, ...n.options, ...(m.read_only ? ['ro'] : [])];
  return {
    Type: 'volume' as const,
    Source: shareVolumeName(envId, i),
    Target: m.target,
    ReadOnly: m.read_only ?? false,
    VolumeOptions: {
      NoCopy: true,
      Labels: { [LABELS.envId]: envId, [LABELS.gateway]: gatewayId },
      DriverConfig: {
        Name: 'local',
        Options: {
          type: n.kind === 'cephfs' ? 'ceph' : 'nfs',
          o: o.join(','),
          device: n.kind === 'cephfs' ? `${n.server}:${n.path}` : `:${n.path}`,
        },
      },
    },
  };
}

/** Docker envs get datasets as binds of the daemon's host mounts (environments/datasetMounts.ts), never keys. */
function noDataset(target: string): never {
  throw new UnprocessableError(`dataset mount of ${target}: Docker engines mount datasets only on the gateway's host`);
}
