// Extension figures: bundle sizes (target: extension ≤ 1 MiB without webview assets) and the data work of one
// Environments tree refresh with 1,000 environments, next to 10 (side by side, same run).
import { figure } from './figures';
import fs from 'node:fs';
import path from 'node:path';
import type { Environment } from '../common/model';
import {
  envContextValue,
  envDescription,
  envDetails,
  groupEnvironments,
  statusIcon,
  tooltipMarkdown,
} from '../extension/tree/model';

function env(i: number): Environment {
  return {
    id: `e${i}`,
    name: `env-${i}`,
    owner_id: 'u',
    deployment_mode: 'docker_local',
    environment_type: i % 2 ? 'ide' : 'training',
    gpu_mode: i % 5 ? 'none' : 'exclusive',
    storage_type: 'local',
    storage_config: null,
    lifecycle_policy: 'persistent',
    network_config: null,
    use_jumpserver: false,
    vnc_port: null,
    rdp_port: null,
    backend_id: `host-${i % 7}`,
    backend_ref: `c${i}`,
    image: 'team/pytorch:2.4',
    image_pull_policy: 'if-not-present',
    cpu: 8,
    memory_mb: 32768,
    gpu_count: i % 5 ? 0 : 2,
    gpu_device_ids: [],
    gpu_model: null,
    gpu_mig_profile: null,
    env_vars: {},
    ssh_user: 'hangar',
    ssh_server: 'agent',
    host_key: null,
    status: (['running', 'stopped', 'failed', 'creating'] as const)[i % 4],
    status_message: null,
    created_at: '',
    updated_at: '',
  };
}

/** What one refresh does before VS Code renders: parse the list, group, and build each visible item's data. */
function refresh(json: string): number {
  const envs = JSON.parse(json) as Environment[];
  let n = 0;
  for (const g of groupEnvironments(envs)) {
    for (const e of g.envs) {
      n +=
        envContextValue(e).length +
        envDescription(e).length +
        statusIcon(e.status).id.length +
        tooltipMarkdown(e, 'http://gw').length;
    }
  }
  return n + envDetails(envs[0]).length;
}

function time(json: string, rounds: number): number {
  for (let i = 0; i < 20; i++) refresh(json);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < rounds; i++) refresh(json);
  return Number(process.hrtime.bigint() - t0) / 1e6 / rounds;
}

const big = JSON.stringify(Array.from({ length: 1000 }, (_, i) => env(i)));
const small = JSON.stringify(Array.from({ length: 10 }, (_, i) => env(i)));
const tBig = time(big, 200);
const tSmall = time(small, 2000);
console.log(
  `tree refresh (data): 1,000 envs ${tBig.toFixed(2)} ms, 10 envs ${tSmall.toFixed(3)} ms; ratio ${(tBig / tSmall).toFixed(0)}x for 100x the envs`,
);
// Linear is 100× the time for 100× the envs: the floor is 100 small refreshes.
figure({
  figure: 'extension tree refresh (data), 1,000 envs vs 100 × 10 envs',
  hangar: tBig,
  floor: tSmall * 100,
  unit: 'ms',
  goal: 1.5,
  goal_on: 'ratio',
  cmp: '<=',
});
for (const f of ['dist/extension.js', 'dist/hangar.js']) {
  const p = path.resolve(__dirname, '..', f);
  if (fs.existsSync(p))
    figure({
      figure: `${f} size vs 1 MiB`,
      hangar: fs.statSync(p).size / 1024,
      floor: 1024,
      unit: 'KiB',
      goal: 1,
      goal_on: 'ratio',
      cmp: '<=',
    });
}
