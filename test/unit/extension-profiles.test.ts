// The extension's profile picker: what each profile says it gives, GPU choices against the inventory, the request.
import assert from 'node:assert/strict';
import type { GpuInfo } from '../../common/model';
import { profileSchema, type ProfileInfo } from '../../common/profiles';
import {
  askedOptions,
  buildProfileRequest,
  driftText,
  optionChoices,
  profileItems,
  recreateCommand,
} from '../../extension/create/profiles';

const info = (p: unknown): ProfileInfo => ({ ...profileSchema.parse(p), source: 'config', hash: 'h' });
const a100 = info({
  name: 'pytorch-a100',
  display_name: 'PyTorch on A100',
  description: 'multi-GPU training',
  environment: {
    image: 'nvcr.io/nvidia/pytorch:24.07-py3',
    gpu_mode: 'exclusive',
    gpu_model: 'A100',
    backend_id: 'gpu',
  },
  options: { gpu_count: { choices: [1, 2, 4, 8], default: 1 } },
});
const serve = info({
  name: 'serve',
  display_name: 'Inference',
  environment: { image: 'vllm/vllm-openai:latest', gpu_mode: 'exclusive', gpu_count: 1 },
  options: { gpu_model: { choices: ['A100', 'H100', 'B200'], default: 'A100' } },
});
const gpu = (model: string, free: number, backend = 'gpu'): GpuInfo =>
  ({
    id: `${model}-${free}-${Math.random()}`,
    backend_id: backend,
    model,
    kind: 'gpu',
    mig_mode: 'disabled',
    present: true,
    free,
  }) as unknown as GpuInfo;
const inventory = [
  gpu('NVIDIA A100-SXM4-80GB', 1),
  gpu('NVIDIA A100-SXM4-80GB', 1),
  gpu('NVIDIA A100-SXM4-80GB', 0),
  gpu('NVIDIA H100 80GB HBM3', 1, 'other'),
];

describe('extension: profile picker', () => {
  it('an item per profile says what it gives: image, mode, GPUs, storage, lifecycle', () => {
    const [item] = profileItems([a100]);
    assert.equal(item.label, 'PyTorch on A100');
    assert.equal(item.description, 'pytorch-a100 — multi-GPU training');
    assert.equal(
      item.detail,
      'nvcr.io/nvidia/pytorch:24.07-py3 · docker_local · 1/2/4/8× A100 · local storage · lifecycle persistent',
    );
  });

  it('GPU counts say how many of the model are free on its backend', () => {
    const items = optionChoices(a100, 'gpu_count', inventory);
    assert.deepEqual(
      items.map((i) => [i.label, i.description]),
      [
        ['1', 'default · 2 free'],
        ['2', '2 free'],
        ['4', 'only 2 free now'],
        ['8', 'only 2 free now'],
      ],
    );
  });

  it('GPU models no backend has are not offered; the others say what is free', () => {
    const items = optionChoices(serve, 'gpu_model', inventory);
    assert.deepEqual(
      items.map((i) => [i.label, i.description]),
      [
        ['A100', 'default · 2 free'],
        ['H100', '1 free'],
      ],
    );
    assert.deepEqual(optionChoices(serve, 'gpu_model', []), []);
  });

  it('asks only options with a choice to make; the request carries labels', () => {
    assert.deepEqual(askedOptions(a100), ['gpu_count']);
    assert.deepEqual(buildProfileRequest(' dev ', a100, { gpu_count: 2 }), {
      name: 'dev',
      profile: 'pytorch-a100',
      options: { gpu_count: '2' },
    });
  });

  it('drift: changed fields, the options, and the recreate command', () => {
    const d = {
      environment_id: 'x',
      profile: 'serve',
      profile_options: { gpu_model: 'A100' },
      available: true,
      profile_changed: true,
      changed: [{ field: 'image', env: 'a:1', profile: 'a:2' }],
      recreate: { name: 'api', profile: 'serve', options: { gpu_model: 'A100' } },
    };
    assert.equal(driftText(d), 'image: "a:1" → "a:2"\nOptions: gpu_model="A100"');
    assert.equal(recreateCommand(d), 'hangar create api --profile serve --option gpu_model="A100"');
  });
});
