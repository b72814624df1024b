// Kubernetes-only create fields: schedule (cron), command, env vars from Secrets, network_config.expose; teams.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { cronProblem } from '../../common/cron';
import type { User } from '../../common/model';
import { createEnvironmentSchema, createUserSchema, describeZodError } from '../../common/schemas';
import { loadConfig } from '../../daemon/config';
import { Cli } from '../helpers/cli';
import { startDaemon } from '../helpers/daemon';
import { tmpDir } from '../helpers/tmp';

function problem(body: unknown): { field: string; message: string } | undefined {
  const r = createEnvironmentSchema.safeParse(body);
  return r.success ? undefined : describeZodError(r.error);
}

describe('Kubernetes create fields', () => {
  const base = { name: 'train', image: 'img:1' };
  const cron = { ...base, deployment_mode: 'k8s_cronjob', command: ['python', 'train.py'] };

  it('cron expressions: five fields with ranges, steps, lists and names, or a macro', () => {
    for (const ok of [
      '0 3 * * *',
      '*/15 * * * *',
      '0 0-23/2 1,15 jan-jun mon-fri',
      '5 4 * * sun',
      '0 0 * * 7',
      '@daily',
      '@hourly',
      '30 2 ? * *',
    ]) {
      assert.equal(cronProblem(ok), undefined, ok);
    }
    assert.match(cronProblem('* * * *')!, /5 fields/);
    assert.match(cronProblem('60 * * * *')!, /minute: '60' is outside 0-59/);
    assert.match(cronProblem('* 24 * * *')!, /hour/);
    assert.match(cronProblem('* * 0 * *')!, /day of month/);
    assert.match(cronProblem('* * * 13 * ')!, /month/);
    assert.match(cronProblem('*/0 * * * *')!, /bad step/);
    assert.match(cronProblem('5-1 * * * *')!, /outside/);
    assert.match(cronProblem('@often')!, /unknown macro/);
    assert.match(cronProblem('TZ=UTC 0 3 * * *')!, /time zone/);
    assert.match(cronProblem('x * * * *')!, /not a value/);
  });

  it('schedule: required for k8s_cronjob, validated, refused elsewhere — the 400 names the field', () => {
    assert.equal(problem({ ...cron, schedule: '0 3 * * *' }), undefined);
    assert.equal(problem(cron)!.field, 'schedule');
    const bad = problem({ ...cron, schedule: '0 25 * * *' })!;
    assert.equal(bad.field, 'schedule');
    assert.match(bad.message, /schedule: is not a cron schedule: hour/);
    assert.equal(problem({ ...base, deployment_mode: 'k8s_pod', schedule: '@daily' })!.field, 'schedule');
    assert.equal(problem({ ...base, schedule: '@daily' })!.field, 'schedule');
  });

  it('command: required for k8s_job and k8s_cronjob, refused for the others', () => {
    assert.equal(problem({ ...base, deployment_mode: 'k8s_job', command: ['true'] }), undefined);
    assert.equal(problem({ ...base, deployment_mode: 'k8s_job' })!.field, 'command');
    assert.equal(problem({ ...base, deployment_mode: 'k8s_job', command: [] })!.field, 'command');
    assert.equal(problem({ ...base, deployment_mode: 'k8s_pod', command: ['true'] })!.field, 'command');
  });

  it('env_vars_from_secrets: Secret names and keys checked, Kubernetes only, no clash with env_vars', () => {
    const k = { ...base, deployment_mode: 'k8s_pod' };
    assert.equal(
      problem({ ...k, env_vars_from_secrets: { WANDB_API_KEY: { secret: 'wandb', key: 'api-key' } } }),
      undefined,
    );
    assert.equal(
      problem({ ...k, env_vars_from_secrets: { 'BAD-NAME': { secret: 's', key: 'k' } } })!.field,
      'env_vars_from_secrets.BAD-NAME',
    );
    assert.equal(
      problem({ ...k, env_vars_from_secrets: { A: { secret: 'Not_DNS', key: 'k' } } })!.field,
      'env_vars_from_secrets.A.secret',
    );
    assert.equal(
      problem({ ...k, env_vars_from_secrets: { A: { secret: 's', key: 'k/x' } } })!.field,
      'env_vars_from_secrets.A.key',
    );
    assert.equal(
      problem({ ...k, env_vars_from_secrets: { A: { secret: 's' } } })!.field,
      'env_vars_from_secrets.A.key',
    );
    assert.equal(
      problem({ ...k, env_vars: { A: '1' }, env_vars_from_secrets: { A: { secret: 's', key: 'k' } } })!.field,
      'env_vars_from_secrets.A',
    );
    assert.equal(
      problem({ ...base, env_vars_from_secrets: { A: { secret: 's', key: 'k' } } })!.field,
      'env_vars_from_secrets',
    );
  });

  it('network_config.expose: node_port or load_balancer, Kubernetes only', () => {
    assert.equal(problem({ ...base, deployment_mode: 'k8s_pod', network_config: { expose: 'node_port' } }), undefined);
    assert.equal(
      problem({ ...base, deployment_mode: 'k8s_pod', network_config: { expose: 'public' } })!.field,
      'network_config.expose',
    );
    assert.equal(problem({ ...base, network_config: { expose: 'load_balancer' } })!.field, 'network_config.expose');
  });

  it('users: an optional team, a short DNS label', () => {
    assert.equal(createUserSchema.parse({ name: 'ann' }).team, null);
    assert.equal(createUserSchema.parse({ name: 'ann', team: 'vision' }).team, 'vision');
    assert.ok(!createUserSchema.safeParse({ name: 'ann', team: 'Vision Team' }).success);
    assert.ok(!createUserSchema.safeParse({ name: 'ann', team: 'x'.repeat(41) }).success);
  });

  it('`hangar user create --team` records the team (the API returns it); a bad team is bad input', async () => {
    const d = await startDaemon({ dockerHost: 'unix:///nonexistent/docker.sock' });
    try {
      const cli = new Cli(d.url);
      await cli.login(d.token);
      const ok = await cli.run(['--json', 'user', 'create', 'carol', '--team', 'ml-infra']);
      assert.equal(ok.code, 0, ok.stderr);
      assert.equal(JSON.parse(ok.stdout).user.team, 'ml-infra');
      const users = await d.admin.request<User[]>('GET', '/api/v1/users');
      assert.equal(users.find((u) => u.name === 'carol')!.team, 'ml-infra');
      assert.equal(users.find((u) => u.name === 'admin')!.team, null);
      const bad = await cli.run(['user', 'create', 'dave', '--team', 'ML Infra']);
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /team/);
    } finally {
      await d.close();
    }
  });

  it('config: gpu_tolerations per Kubernetes backend (default tolerates nvidia.com/gpu NoSchedule), checked', () => {
    const file = path.join(tmpDir(), 'c.yaml');
    fs.writeFileSync(file, 'backends:\n  - id: k\n    kind: kubernetes\n');
    const b = loadConfig({ argv: ['--config', file] }).backends[0] as { gpu_tolerations: unknown };
    assert.deepEqual(b.gpu_tolerations, [{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }]);
    fs.writeFileSync(
      file,
      'backends:\n  - id: k\n    kind: kubernetes\n    gpu_tolerations: [{key: gpu, effect: Sometimes}]\n',
    );
    assert.throws(() => loadConfig({ argv: ['--config', file] }), /invalid configuration: backends/);
  });
});
