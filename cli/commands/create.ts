// `hangar create`: flags → a CreateEnvironmentRequest, checked with the daemon's own schema before it is sent.
import { Option, type Command } from 'commander';
import type { CreateFromProfileRequest } from '../../common/profiles';
import type { CreateEnvironmentRequest } from '../../common/schemas';
import type { CliContext } from '../context';
import { UsageError } from '../errors';
import { print, progress } from '../output';
import { collect, parseHostPath, parseKv, parsePort, parseVolume } from '../parse';

export function createCommand(program: Command, ctx: CliContext): void {
  program
    .command('create <name>')
    .description('create an environment and wait until it runs')
    .option('--image <ref>', 'container/VM image (required without --profile)')
    .option('--profile <name>', 'create from a profile (see `hangar profiles ls`): it fixes the image, sizes, …')
    .option('--option <field=value>', "a profile option's value, e.g. gpu_count=2; repeatable", collect)
    .option('--backend <id>', "backend id (default: the gateway's default)")
    .option('--deployment-mode <m>', 'docker_local | k8s_pod | k8s_stateful | k8s_job | k8s_cronjob | vm | bare_metal')
    .option('--schedule <cron>', 'k8s_cronjob: when it runs, e.g. "0 3 * * *"')
    .option('--command <shell>', 'k8s_job / k8s_cronjob: what the pod runs (with /bin/sh -c)')
    .option(
      '--secret-env <NAME=secret/key>',
      'Kubernetes: an env var from a key of a Secret in your namespace; repeatable',
      collect,
    )
    .addOption(
      new Option('--expose <how>', 'Kubernetes: reach SSH and the --port ports from outside the cluster').choices([
        'node_port',
        'load_balancer',
      ]),
    )
    .option('--type <t>', 'environment_type: ide | terminal | desktop | training | inference | data_process')
    .option('--gpu-mode <m>', 'exclusive | vgpu | mig | shared | none')
    .option('--gpus <n>', 'number of GPUs', (v) => Number(v))
    .option('--gpu-device <id>', 'exact GPU (GPU-<uuid>/MIG-<uuid>/index); repeatable', collect)
    .option('--gpu-model <model>', 'GPU model, e.g. A100 or "H100 80GB"')
    .option(
      '--mig-profile <profile>',
      'MIG profile for --gpu-mode mig (1g.10gb), or the mdev type for vgpu (nvidia-472)',
    )
    .option('--gpu-wait', 'when no GPU fits now, queue until one does (instead of failing)')
    .option('--cpu <n>', 'CPU limit (cores)', (v) => Number(v))
    .option('--memory <mib>', 'memory limit in MiB', (v) => Number(v))
    .option('-e, --env <KEY=VALUE>', 'environment variable; repeatable', collect)
    .option('-p, --port <[ip:]host:container>', 'publish a port (default address 127.0.0.1); repeatable', collect)
    .option(
      '-v, --volume <name:dst[:ro]>',
      "your named volume (team:NAME your team's, id:ID by id), made on first use; repeatable",
      collect,
    )
    .option(
      '--host-path <name:dst[:rw]>',
      "a host directory the gateway's host_paths lists, by name (read-only unless it allows rw); repeatable",
      collect,
    )
    .option(
      '--dataset <name:dst[:ro]>',
      "a dataset (team:NAME your team's, id:ID by id) mounted at dst (Docker: s3fs on the host); sets --storage-type s3",
      collect,
    )
    .option('--storage-type <t>', 'local | nfs | ceph | s3 | pvc')
    .option('--lifecycle <p>', 'persistent | ephemeral | scheduled | on_demand')
    .option('--jumpserver', 'route access through JumpServer')
    .option('--vnc-port <n>', 'VNC port', (v) => Number(v))
    .addOption(new Option('--pull <policy>', 'image pull policy').choices(['always', 'if-not-present', 'never']))
    .option('--user <name>', 'login user inside the environment')
    .addOption(
      new Option('--ssh-server <server>', "agent: hangar-agent (any image); image: the image's own sshd").choices([
        'agent',
        'image',
      ]),
    )
    .option('--no-wait', 'return as soon as the gateway accepted the request')
    .action(async (name: string, o: Record<string, any>) => {
      const req: CreateEnvironmentRequest = {
        name,
        image: o.image,
        backend_id: o.backend,
        deployment_mode: o.deploymentMode,
        environment_type: o.type,
        // With a profile, only what was typed is sent (the profile fixes the rest; a fixed field is refused).
        gpu_mode:
          o.gpuMode ??
          (o.profile
            ? undefined
            : o.migProfile
              ? 'mig'
              : o.gpus || o.gpuDevice || o.gpuModel
                ? 'exclusive'
                : undefined),
        gpu_count: o.gpus,
        gpu_device_ids: o.gpuDevice,
        gpu_model: o.gpuModel,
        gpu_mig_profile: o.migProfile,
        gpu_wait: o.gpuWait,
        cpu: o.cpu,
        memory_mb: o.memory,
        env_vars: o.env ? parseKv(o.env, '--env') : undefined,
        storage_type: o.storageType ?? (o.dataset ? 's3' : undefined),
        lifecycle_policy: o.lifecycle,
        use_jumpserver: o.jumpserver,
        vnc_port: o.vncPort,
        image_pull_policy: o.pull,
        ssh_user: o.user,
        ssh_server: o.sshServer,
        network_config:
          o.port || o.expose
            ? {
                ...(o.port ? { ports: (o.port as string[]).map(parsePort) } : {}),
                ...(o.expose ? { expose: o.expose } : {}),
              }
            : undefined,
        schedule: o.schedule,
        command: o.command ? ['/bin/sh', '-c', o.command] : undefined,
        env_vars_from_secrets: o.secretEnv
          ? Object.fromEntries(
              Object.entries(parseKv(o.secretEnv, '--secret-env')).map(([k, v]) => {
                const m = /^([^/]+)\/(.+)$/.exec(v);
                if (!m) throw new UsageError(`--secret-env expects NAME=secret/key, got '${k}=${v}'`);
                return [k, { secret: m[1], key: m[2] }];
              }),
            )
          : undefined,
        storage_config:
          o.volume || o.hostPath || o.dataset
            ? {
                mounts: [
                  ...((o.volume ?? []) as string[]).map(parseVolume),
                  ...((o.dataset ?? []) as string[]).map((v) => ({ ...parseVolume(v), type: 'dataset' as const })),
                  ...((o.hostPath ?? []) as string[]).map(parseHostPath),
                ],
              }
            : undefined,
      } as CreateEnvironmentRequest;
      for (const k of Object.keys(req) as (keyof CreateEnvironmentRequest)[]) if (req[k] === undefined) delete req[k];
      if (o.option && !o.profile) throw new UsageError('--option is for a profile: give --profile NAME');
      const body = o.profile ? await fromProfile(req, o.profile, o.option) : await custom(req);
      const c = ctx.client();
      const ac = new AbortController();
      process.once('SIGINT', () => ac.abort());
      let env = await c.createEnvironment(body, ac.signal);
      // A Job may have finished by then; a pod the scheduler can't place yet waits as 'pending'.
      if (o.wait)
        env = await c.waitFor(env.id, ['running', 'pending', ...(env.command ? ['stopped' as const] : [])], {
          signal: ac.signal,
          onStatus: (e) => progress(`${e.name}: ${e.status}${e.status_message ? ' — ' + e.status_message : ''}`),
        });
      print(ctx.json(), env, () => `${env.name} ${env.status} (${env.id})\n`);
    });
}

/** The full form: the same checks the daemon makes, before anything is sent. */
async function custom(req: CreateEnvironmentRequest): Promise<CreateEnvironmentRequest> {
  if (!req.image) throw new UsageError('--image is required (or create from a profile with --profile NAME)');
  const { createEnvironmentSchema, describeZodError } = await import('../../common/schemas');
  const check = createEnvironmentSchema.safeParse(req);
  if (!check.success) throw new UsageError(describeZodError(check.error).message);
  return req;
}

/** {name, profile, options} plus any field typed as a flag: the gateway says which a profile fixes (403). */
async function fromProfile(
  req: CreateEnvironmentRequest,
  profile: string,
  options: string[] | undefined,
): Promise<CreateFromProfileRequest> {
  const body = { ...req, profile, options: parseKv(options, '--option') } as CreateFromProfileRequest;
  const { createFromProfileSchema } = await import('../../common/profiles');
  const { describeZodError } = await import('../../common/schemas');
  const check = createFromProfileSchema.safeParse(body);
  if (!check.success) throw new UsageError(describeZodError(check.error).message);
  return body;
}
