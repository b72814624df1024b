// The config's backend entries: one strict schema per kind (docker, kubernetes, libvirt), chosen by `kind`.
import { z } from 'zod';
import { storageClassName } from '../common/schemas';

const dockerBackend = z
  .object({
    id: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/),
    kind: z.literal('docker').default('docker'),
    /** unix:///var/run/docker.sock, tcp://host:2376, ssh://user@host[:port] */
    url: z.string().default('unix:///var/run/docker.sock'),
    /** For ssh:// hosts: private key file used to reach the host. */
    ssh_key_file: z.string().optional(),
    /** The host's SSH public key ("ssh-ed25519 AAAA…", as in its /etc/ssh/ssh_host_*_key.pub): pinned when set. */
    ssh_host_key: z
      .string()
      .regex(
        /^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp\d+) [A-Za-z0-9+/]+={0,2}( .*)?$/,
        'must be an OpenSSH public key line',
      )
      .optional(),
    /** Address published ports bind to by default. */
    publish_address: z.string().ip().default('127.0.0.1'),
    /** nvidia-smi on that host (run locally for unix:// engines, over SSH for ssh:// ones); absent: no GPUs. */
    nvidia_smi: z.string().default('nvidia-smi'),
    /** Time-slicing: how many gpu_mode shared environments one GPU takes. */
    gpu_shared_replicas: z.number().int().min(1).max(64).default(4),
    /** false: never pull (air-gapped hosts, API fuzzing): every image_pull_policy acts as 'never'. */
    allow_image_pulls: z.boolean().default(true),
  })
  .strict();
export type DockerBackendConfig = z.infer<typeof dockerBackend>;

const kubernetesBackend = z
  .object({
    id: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/),
    kind: z.literal('kubernetes'),
    /** Path of a kubeconfig file; absent: in-cluster service-account credentials. */
    kubeconfig: z.string().optional(),
    context: z.string().optional(),
    /** One namespace per user (hangar-<user>) or one per team (hangar-team-<team>, from the user's team; users without one keep their own). */
    namespace_policy: z.enum(['per-user', 'per-team']).default('per-user'),
    namespace_prefix: z
      .string()
      .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/)
      .default('hangar'),
    image_pull_secrets: z.array(z.string()).default([]),
    /** The class of claims that name none (absent: the cluster's default StorageClass). */
    storage_class: storageClassName.optional(),
    /** storage_type ceph / `ceph: cephfs|rbd`: the operator's Ceph CSI classes (CephFS shared RWX, RBD block RWO). */
    ceph: z
      .object({ cephfs_class: storageClassName.optional(), rbd_class: storageClassName.optional() })
      .strict()
      .optional(),
    /** Size of a home claim (storage_type pvc/ceph) and of a volume that gives none (default 10 GiB each). */
    home_size_gb: z.number().int().min(1).optional(),
    volume_size_gb: z.number().int().min(1).optional(),
    /** The pod's fsGroup where it mounts claims: the gid of the login user (default 1000, useradd's first user). */
    fs_group: z.number().int().min(1).max(2147483647).optional(),
    /** Tolerations given to pods that ask for GPUs (Kubernetes field names); GPU nodes are often tainted so. */
    gpu_tolerations: z
      .array(
        z
          .object({
            key: z.string().optional(),
            operator: z.enum(['Exists', 'Equal']).optional(),
            value: z.string().optional(),
            effect: z.enum(['NoSchedule', 'PreferNoSchedule', 'NoExecute']).optional(),
            tolerationSeconds: z.number().int().optional(),
          })
          .strict(),
      )
      .default([{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }]),
    /** ssh_server agent: an image with /hangar-agent at its root (the operator mirrors it), run as an init container. */
    agent_image: z
      .string()
      .regex(/^[a-z0-9][a-z0-9._/:@-]{0,254}$/, 'must be an image reference')
      .optional(),
    /** Datasets in pods: an image with rclone (e.g. rclone/rclone, mirrored by the operator) whose init container
     *  copies each dataset into an emptyDir at start; none: Kubernetes envs can't mount datasets. */
    dataset_sync_image: z
      .string()
      .regex(/^[a-z0-9][a-z0-9._/:@-]{0,254}$/, 'must be an image reference')
      .optional(),
    /** restricted: agent envs meet the "restricted" Pod Security profile (non-root as restricted_uid, no capabilities). */
    pod_security: z.enum(['baseline', 'restricted']).default('baseline'),
    restricted_uid: z.number().int().min(1).max(2147483647).default(1000),
  })
  .strict();
export type KubernetesBackendConfig = z.infer<typeof kubernetesBackend>;
export const portRange = z.object({
  from: z.number().int().min(1024).max(65535),
  to: z.number().int().min(1024).max(65535),
});

const libvirtBackend = z
  .object({
    id: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/),
    kind: z.literal('libvirt'),
    /** qemu:///system beside the gateway, qemu+ssh://user@host/system for a remote host. */
    uri: z
      .string()
      .regex(/^[a-z]+(\+[a-z]+)?:\/\//, 'must be a libvirt URI such as qemu:///system')
      .default('qemu:///system'),
    /** For qemu+ssh:// hosts: the key for the SSH hop that carries tunnels to the VMs' forwarded ports. */
    ssh_key_file: z.string().optional(),
    /** The host's SSH public key ("ssh-ed25519 AAAA…", as in its /etc/ssh/ssh_host_*_key.pub): pinned when set. */
    ssh_host_key: z
      .string()
      .regex(
        /^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp\d+) [A-Za-z0-9+/]+={0,2}( .*)?$/,
        'must be an OpenSSH public key line',
      )
      .optional(),
    /** A directory storage pool: templates, overlays, cloud-init seeds and console logs live there. */
    pool: z.string().default('hangar'),
    /** auto: kvm when the host offers it, else qemu (TCG). Say qemu on hosts that claim KVM but can't run it (nested). */
    virt_type: z.enum(['auto', 'kvm', 'qemu']).default('auto'),
    /** 'user': each VM gets its own user-mode network and only forwarded ports reach it; or a libvirt network's name. */
    network: z.string().default('user'),
    /** User-mode networking: the guest can't open connections out (no internet, no host); forwards still reach it. */
    restrict_network: z.boolean().default(false),
    forward_address: z.string().ip().default('127.0.0.1'),
    forward_port_range: portRange.default({ from: 22000, to: 22999 }),
    boot_timeout_s: z.number().int().min(10).default(300),
    /** Under KVM: a guest silent on its serial console this long after start hangs (fail it, don't wait forever). */
    silent_console_timeout_s: z.number().int().min(5).default(90),
    shutdown_timeout_s: z.number().int().min(1).default(60),
    default_vcpus: z.number().int().min(1).default(2),
    default_memory_mb: z.number().int().min(128).default(2048),
    /** Size of the data disk a named volume becomes (storage_config mounts of type volume), unless the mount says. */
    data_disk_gb: z.number().int().min(1).default(20),
    /** The virsh executable. */
    virsh: z.string().default('virsh'),
  })
  .strict();
export type LibvirtBackendConfig = z.infer<typeof libvirtBackend>;

// Chosen by `kind` (docker when absent), so a typo is reported against the right backend kind, never
// silently dropped, and a libvirt entry without `kind:` is an error instead of a Docker backend.
export const backend = z.preprocess(
  (b) => (b && typeof b === 'object' && !('kind' in b) ? { ...b, kind: 'docker' } : b),
  z.discriminatedUnion('kind', [
    dockerBackend.extend({ kind: z.literal('docker') }),
    kubernetesBackend,
    libvirtBackend,
  ]),
);

export type BackendConfig = z.infer<typeof backend>;
