// The API description served at /api/v1/openapi.json. Enums come from common/model so they can't drift.
import {
  DEPLOYMENT_MODES, ENVIRONMENT_TYPES, ENV_STATUSES, GPU_MODES, LIFECYCLE_POLICIES, PULL_POLICIES, STORAGE_TYPES,
} from '../../common/model';

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: object) => ({ content: { 'application/json': { schema } } });
const err = (description: string) => ({ description, ...json(ref('Error')) });
const idParam = { name: 'id', in: 'path', required: true, description: 'Environment id or name', schema: { type: 'string' } };
const envOps = (summary: string) => ({
  post: { summary, parameters: [idParam], responses: { 200: { description: 'The environment', ...json(ref('Environment')) }, 404: err('Unknown environment'), 409: err('Wrong state'), 503: err('Backend unavailable') } },
});

export function openApiDocument(version: string): object {
  const envProps = {
    name: { type: 'string', pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$', maxLength: 63 },
    image: { type: 'string' },
    deployment_mode: { type: 'string', enum: DEPLOYMENT_MODES, default: 'docker_local', description: 'docker_local: a container; k8s_pod: a Deployment (1 replica); k8s_stateful: a StatefulSet with a /home claim; k8s_job: batch training as a Job (runs `command` once; stop suspends it, start resumes or runs it again; status stopped "completed" or failed with the reason); k8s_cronjob: scheduled training as a CronJob (`schedule`; stop suspends, start resumes); vm: a libvirt domain' },
    environment_type: { type: 'string', enum: ENVIRONMENT_TYPES, default: 'ide' },
    gpu_mode: { type: 'string', enum: GPU_MODES, default: 'none' },
    storage_type: { type: 'string', enum: STORAGE_TYPES, default: 'local' },
    storage_config: { type: 'object', nullable: true, properties: { mounts: { type: 'array', items: ref('Mount') } } },
    lifecycle_policy: { type: 'string', enum: LIFECYCLE_POLICIES, default: 'persistent' },
    network_config: { type: 'object', nullable: true, properties: { host_ip: { type: 'string' }, ports: { type: 'array', items: ref('PortMapping') }, expose: { type: 'string', enum: ['node_port', 'load_balancer'], description: 'Kubernetes only: a NodePort or LoadBalancer Service (and a NetworkPolicy admitting it) for SSH and the `ports`; Jupyter and VNC stay behind the gateway. Absent: ClusterIP only. The connection endpoint reports node ports and addresses under `exposed`.' } } },
    use_jumpserver: { type: 'boolean', default: false },
    vnc_port: { type: 'integer', nullable: true, description: 'desktop envs: allocated from vnc_port_range when absent; unique per backend' },
    backend_id: { type: 'string' },
    image_pull_policy: { type: 'string', enum: PULL_POLICIES, default: 'if-not-present' },
    cpu: { type: 'number', nullable: true, exclusiveMinimum: 0 },
    memory_mb: { type: 'integer', nullable: true, minimum: 6 },
    gpu_count: { type: 'integer', minimum: 0 },
    gpu_device_ids: { type: 'array', items: { type: 'string' }, description: 'Exact devices (GPU-<uuid>, MIG-<uuid>); empty: the daemon chooses and records its grant here' },
    gpu_model: { type: 'string', nullable: true, description: 'Wanted model, a substring of the product name (e.g. A100, "H100 80GB")' },
    gpu_mig_profile: { type: 'string', nullable: true, description: 'MIG profile for gpu_mode mig (e.g. 1g.10gb); the mdev type for gpu_mode vgpu (e.g. nvidia-472)' },
    gpu_wait: { type: 'boolean', default: false, description: 'When no GPU fits now: queue the env (status pending, the reason in status_message) until GPUs are released, instead of a 409' },
    env_vars: { type: 'object', additionalProperties: { type: 'string' } },
    env_vars_from_secrets: { type: 'object', additionalProperties: { type: 'object', required: ['secret', 'key'], additionalProperties: false, properties: { secret: { type: 'string', description: 'a Secret in the env\'s namespace' }, key: { type: 'string' } } }, description: 'Kubernetes only: env vars read from Secrets (secretKeyRef); names must not repeat env_vars' },
    schedule: { type: 'string', nullable: true, description: 'k8s_cronjob (required there, refused elsewhere): a cron expression, 5 fields or @hourly/@daily/@weekly/@monthly/@yearly' },
    command: { type: 'array', nullable: true, items: { type: 'string' }, description: 'k8s_job / k8s_cronjob (required there, refused elsewhere): the argv the pod runs' },
    ssh_user: { type: 'string', default: 'hangar' },
  };
  return {
    openapi: '3.0.3',
    info: { title: 'Hangar gateway API', version, description: 'Development environments on Docker, Kubernetes and KVM. Every route but /healthz needs `Authorization: Bearer <token>`.' },
    servers: [{ url: '/api/v1' }],
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      schemas: {
        Error: { type: 'object', properties: { error: { type: 'object', properties: { code: { type: 'string' }, message: { type: 'string' }, field: { type: 'string' }, backend: { type: 'string' } } } } },
        PortMapping: { type: 'object', required: ['container_port'], properties: { container_port: { type: 'integer' }, host_port: { type: 'integer' }, host_ip: { type: 'string', default: '127.0.0.1' }, protocol: { type: 'string', enum: ['tcp', 'udp'] } } },
        Mount: { type: 'object', required: ['type', 'source', 'target'], description: 'volume: source NAME (your own, made on first use), team:NAME (your team\'s) or id:ID; host_path: source names an entry of the gateway\'s host_paths (read-only unless it allows rw). bind (a raw host path) is refused: 403.', properties: { type: { type: 'string', enum: ['volume', 'host_path', 'bind'] }, source: { type: 'string' }, target: { type: 'string' }, read_only: { type: 'boolean' }, size_gb: { type: 'integer' }, volume_id: { type: 'string', readOnly: true } } },
        CreateEnvironment: { type: 'object', required: ['name', 'image'], additionalProperties: false, properties: envProps },
        UpdateEnvironment: { type: 'object', additionalProperties: false, properties: { lifecycle_policy: envProps.lifecycle_policy, use_jumpserver: envProps.use_jumpserver, env_vars: envProps.env_vars, cpu: envProps.cpu, memory_mb: envProps.memory_mb } },
        Environment: {
          type: 'object',
          properties: {
            id: { type: 'string' }, owner_id: { type: 'string' }, ...envProps,
            backend_ref: { type: 'string', nullable: true }, host_key: { type: 'string', nullable: true, description: 'The env\'s SSH host public key (pinned by clients)' },
            status: { type: 'string', enum: ENV_STATUSES, description: 'pending: started but not placed yet (Kubernetes: status_message is the scheduler\'s reason); it becomes running when the scheduler places it' }, status_message: { type: 'string', nullable: true },
            created_at: { type: 'string', format: 'date-time' }, updated_at: { type: 'string', format: 'date-time' },
          },
        },
        Connection: { type: 'object', description: 'SSH, Jupyter, VNC and RDP access, and protocols the image declares with labels dev.hangar.access.<protocol>=<port> (RStudio, NoMachine, …); for Kubernetes envs with network_config.expose, `exposed` {type, hosts, ports: [{name, port, node_port}]}. The only place secrets (Jupyter token, VNC/RDP passwords) are returned, to the owner.' },
        Event: { type: 'object', properties: { type: { type: 'string' }, environment_id: { type: 'string' }, status: { type: 'string', enum: ENV_STATUSES }, message: { type: 'string', nullable: true }, at: { type: 'string' } } },
      },
    },
    security: [{ bearer: [] }],
    paths: {
      '/environments': {
        get: {
          summary: 'List environments (own; all for an admin)',
          parameters: ['status', 'deployment_mode', 'environment_type', 'backend_id', 'owner', 'name'].map((n) => ({ name: n, in: 'query', schema: { type: 'string' } })),
          responses: { 200: { description: 'Environments', ...json({ type: 'array', items: ref('Environment') }) } },
        },
        post: {
          summary: 'Create an environment (provisioned in the background; follow /events or poll)',
          requestBody: { required: true, ...json(ref('CreateEnvironment')) },
          responses: { 202: { description: 'Accepted, status creating', ...json(ref('Environment')) }, 400: err('Invalid field (named in the message)'), 409: err('Name taken, or no GPU fits (the message says which model is missing and what is free where)'), 422: err('Image unavailable, or the backend refused the workload (Kubernetes: a LimitRange, ResourceQuota or validation; the API server\'s message)'), 503: err('Backend unavailable') },
        },
      },
      '/environments/{id}': {
        get: { summary: 'Get an environment', parameters: [idParam], responses: { 200: { description: 'The environment', ...json(ref('Environment')) }, 404: err('Unknown') } },
        patch: { summary: 'Update an environment', parameters: [idParam], requestBody: { required: true, ...json(ref('UpdateEnvironment')) }, responses: { 200: { description: 'Updated', ...json(ref('Environment')) } } },
        delete: { summary: 'Delete an environment and everything made for it', parameters: [idParam], responses: { 204: { description: 'Deleted' }, 404: err('Unknown'), 503: err('Backend unavailable') } },
      },
      '/environments/{id}/start': envOps('Start'),
      '/environments/{id}/stop': envOps('Stop'),
      '/environments/{id}/restart': envOps('Restart'),
      '/environments/{id}/connection': { get: { summary: 'Connection info (SSH alias, host key, Jupyter URL + token)', parameters: [idParam], responses: { 200: { description: 'Connection', ...json(ref('Connection')) } } } },
      '/environments/{id}/jupyter-session': { post: { summary: 'A one-minute link that opens the env\'s Jupyter in a browser (it becomes a cookie scoped to that env\'s Jupyter path)', parameters: [idParam], responses: { 201: { description: '{url, expires_in}' } } } },
      '/environments/{id}/rotate': { post: { summary: 'Rotate a secret ({"secret": "jupyter_token" | "vnc_password" | "rdp_password"}): the env restarts with the new one, the old one stops working', parameters: [idParam], responses: { 200: { description: 'New connection info', ...json(ref('Connection')) } } } },
      '/environments/{id}/jupyter/{path}': { get: { summary: 'Reverse proxy (HTTP and kernel WebSockets) to the env\'s Jupyter; the gateway\'s auth in front, Jupyter\'s token injected', parameters: [idParam, { name: 'path', in: 'path', required: true, schema: { type: 'string' } }], responses: { 200: { description: 'Jupyter' } } } },
      '/environments/{id}/logs': { get: { summary: 'Logs (a VM\'s serial console); follow=true streams', parameters: [idParam, { name: 'tail', in: 'query', schema: { type: 'integer' } }, { name: 'follow', in: 'query', schema: { type: 'boolean' } }], responses: { 200: { description: 'text/plain log lines' } } } },
      '/environments/{id}/tunnel': { get: { summary: 'WebSocket upgrade carrying raw TCP to a port of the env (binary frames)', parameters: [idParam, { name: 'port', in: 'query', schema: { type: 'integer', default: 22 } }], responses: { 101: { description: 'Switching protocols' } } } },
      '/events': { get: { summary: 'WebSocket stream of Event messages (JSON text frames)', responses: { 101: { description: 'Switching protocols' } } } },
      '/gpus': {
        get: {
          summary: 'GPU inventory of every backend with free units and holders',
          parameters: ['backend', 'model', 'free'].map((n) => ({ name: n, in: 'query', schema: { type: 'string' } })),
          responses: { 200: { description: 'GPUs, MIG instances and cluster GPU resources' } },
        },
      },
      '/gpus/refresh': { post: { summary: 'Re-read every backend\'s GPUs now', responses: { 200: { description: 'Per backend: devices seen or the error' } } } },
      '/backends': { get: { summary: 'Backends and their reachability', responses: { 200: { description: 'Backends' } } } },
      '/me': { get: { summary: 'The caller', responses: { 200: { description: 'User' } } } },
      '/users': { get: { summary: 'Users (admin)', responses: { 200: { description: 'Users' } } }, post: { summary: 'Create a user and its first token (admin): {name, role?, team?}; team names the Kubernetes namespace under namespace_policy per-team', responses: { 201: { description: 'User and token (shown once)' } } } },
      '/tokens': { get: { summary: 'Own API tokens', responses: { 200: { description: 'Tokens (no secrets)' } } }, post: { summary: 'Issue a token (shown once)', responses: { 201: { description: 'Token' } } } },
      '/ssh-keys': { get: { summary: 'Own SSH public keys', responses: { 200: { description: 'Keys' } } }, post: { summary: 'Upload a public key or {generate:true} for an ed25519 pair (private key returned once)', responses: { 201: { description: 'Key' } } } },
      '/templates': { get: { summary: 'VM templates on libvirt backends (base images; an env of deployment_mode vm names one as its image), with the envs using each', parameters: [{ name: 'backend_id', in: 'query', schema: { type: 'string' } }], responses: { 200: { description: 'Templates' } } } },
      '/backends/{backend}/templates': { post: { summary: 'Import a template (admin): {name, os, default_user, cloud_init, firmware: bios|uefi|direct-kernel, cmdline?, access: [ssh|vnc|rdp], disk: {file}|{url}, kernel?, initrd?}; the gateway uploads it into the host\'s storage pool', parameters: [{ name: 'backend', in: 'path', required: true, schema: { type: 'string' } }], responses: { 201: { description: 'Template' }, 409: { description: 'Exists' } } } },
      '/backends/{backend}/templates/{name}': { delete: { summary: 'Delete a template no environment uses (admin); 409 names the envs using it', parameters: [{ name: 'backend', in: 'path', required: true, schema: { type: 'string' } }, { name: 'name', in: 'path', required: true, schema: { type: 'string' } }], responses: { 204: { description: 'Deleted' }, 409: { description: 'In use' } } } },
      '/environments/{id}/snapshots': {
        get: { summary: 'Snapshots of the env\'s VM', parameters: [idParam], responses: { 200: { description: 'Snapshots: name, created_at, state (running: with memory; shutoff: disk only), description, current' } } },
        post: { summary: 'Take a snapshot {name, description?}: with memory when the VM runs, disk only when it is off', parameters: [idParam], responses: { 201: { description: 'Snapshot' }, 409: { description: 'Name taken or env busy' }, 422: { description: 'Not a VM' } } },
      },
      '/environments/{id}/snapshots/{name}/revert': { post: { summary: 'Return the VM to a snapshot (running with its memory, or off); the env\'s status and GPUs follow', parameters: [idParam, { name: 'name', in: 'path', required: true, schema: { type: 'string' } }], responses: { 200: { description: 'Environment' } } } },
      '/environments/{id}/snapshots/{name}': { delete: { summary: 'Delete a snapshot', parameters: [idParam, { name: 'name', in: 'path', required: true, schema: { type: 'string' } }], responses: { 204: { description: 'Deleted' } } } },
      '/volumes': { get: { summary: 'Named volumes: own and own team\'s (admin: all), with the backend\'s name (hangar-vol-<id>)', responses: { 200: { description: 'Volumes' } } } },
      '/orphans': { get: { summary: 'Backend objects with this gateway\'s labels and no row (a restored database, another data dir), never removed automatically (admin)', responses: { 200: { description: 'Orphans: ref (env id), backend, state, name/owner/image from its labels, adoptable' }, 403: err('Not an admin') } } },
      '/orphans/{ref}/adopt': { post: { summary: 'Rebuild the row from the object\'s labels (admin); {owner?: user name} when its owner is not in this database', parameters: [{ name: 'ref', in: 'path', required: true, schema: { type: 'string' } }], responses: { 201: { description: 'Environment', ...json(ref('Environment')) }, 403: err('Not an admin'), 404: err('No such orphan'), 409: err('Name taken'), 422: err('No record to rebuild from') } } },
      '/orphans/{ref}': { delete: { summary: 'Remove the object from its backend (admin)', parameters: [{ name: 'ref', in: 'path', required: true, schema: { type: 'string' } }], responses: { 204: { description: 'Removed' }, 403: err('Not an admin'), 404: err('No such orphan') } } },
      '/audit': { get: { summary: 'Audit log (admin)', responses: { 200: { description: 'Entries' } } } },
    },
  };
}
