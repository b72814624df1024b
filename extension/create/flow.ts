// The guided create flow: one QuickPick/InputBox per field, Back supported, each field validated as typed,
// the whole request validated before it is sent; provisioning shown with cancellable progress.
import * as vscode from 'vscode';
import type { HangarClient } from '../../common/client';
import {
  ENVIRONMENT_TYPES,
  GPU_MODES,
  LIFECYCLE_POLICIES,
  STORAGE_TYPES,
  type BackendInfo,
  type Environment,
  type GpuInfo,
  type VmTemplate,
} from '../../common/model';
import type { CreateFromProfileRequest } from '../../common/profiles';
import type { CreateEnvironmentRequest } from '../../common/schemas';
import { withCancellableProgress } from '../core/progress';
import { buildCreateRequest, checkName, checkNumber, type CreateAnswers } from './request';

export class Back extends Error {}

interface Step {
  title: string;
  run(a: Partial<CreateAnswers>): Promise<Partial<CreateAnswers>>;
}

export function pick<T extends string>(
  title: string,
  step: string,
  items: { label: T; description?: string; detail?: string }[],
  current?: string,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const qp = vscode.window.createQuickPick<{ label: T; description?: string; detail?: string }>();
    qp.matchOnDescription = true;
    qp.title = title;
    qp.step = Number(step.split('/')[0]);
    qp.totalSteps = Number(step.split('/')[1]);
    qp.items = items;
    qp.ignoreFocusOut = true;
    qp.activeItems = items.filter((i) => i.label === current);
    qp.buttons = qp.step > 1 ? [vscode.QuickInputButtons.Back] : [];
    qp.onDidTriggerButton(() => {
      qp.hide();
      reject(new Back());
    });
    qp.onDidAccept(() => {
      const v = qp.selectedItems[0]?.label;
      if (v) {
        resolve(v);
        qp.hide();
      }
    });
    qp.onDidHide(() => {
      qp.dispose();
      reject(new vscode.CancellationError());
    });
    qp.show();
  });
}

export function input(
  title: string,
  step: string,
  prompt: string,
  value: string,
  validate: (v: string) => string | undefined,
  placeholder?: string,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const box = vscode.window.createInputBox();
    box.title = title;
    box.step = Number(step.split('/')[0]);
    box.totalSteps = Number(step.split('/')[1]);
    box.prompt = prompt;
    box.value = value;
    box.placeholder = placeholder;
    box.ignoreFocusOut = true;
    box.buttons = box.step > 1 ? [vscode.QuickInputButtons.Back] : [];
    box.onDidTriggerButton(() => {
      box.hide();
      reject(new Back());
    });
    box.onDidChangeValue((v) => {
      box.validationMessage = validate(v);
    });
    box.onDidAccept(() => {
      const msg = validate(box.value);
      box.validationMessage = msg;
      if (!msg) {
        resolve(box.value);
        box.hide();
      }
    });
    box.onDidHide(() => {
      box.dispose();
      reject(new vscode.CancellationError());
    });
    box.show();
  });
}

export async function askCreateAnswers(
  backends: (BackendInfo & { default?: boolean })[],
  recentImages: string[],
  gpus: GpuInfo[] = [],
  templates: VmTemplate[] = [],
  prefill: Partial<CreateAnswers> = {},
): Promise<CreateAnswers | undefined> {
  const title = vscode.l10n.t('Create Hangar environment');
  const N = 11;
  const steps: Step[] = [
    {
      title: 'name',
      run: async (a) => ({
        name: await input(title, `1/${N}`, vscode.l10n.t('Name (lowercase letters, digits, -)'), a.name ?? '', (v) =>
          checkName(v),
        ),
      }),
    },
    {
      title: 'type',
      run: async (a) => ({
        environment_type: await pick(
          title,
          `2/${N}`,
          ENVIRONMENT_TYPES.map((t) => ({ label: t })),
          a.environment_type ?? 'ide',
        ),
      }),
    },
    {
      title: 'backend',
      run: async (a) => {
        const usable = backends.filter((b) => b.available);
        const id = await pick(
          title,
          `3/${N}`,
          usable.map((b) => ({
            label: b.id,
            description: `${b.kind}${b.default ? ' · default' : ''}${b.version ? ' · ' + b.version : ''}`,
          })),
          a.backend?.id ?? usable.find((b) => b.default)?.id,
        );
        const b = usable.find((x) => x.id === id)!;
        return { backend: { id: b.id, kind: b.kind } };
      },
    },
    {
      title: 'image',
      run: async (a) => {
        // A VM boots from one of its host's templates: offer them rather than a free-text image.
        const onHost = templates.filter((t) => t.backend_id === a.backend?.id);
        if (a.backend?.kind === 'libvirt') {
          if (onHost.length === 0)
            throw new Error(
              vscode.l10n.t(
                'Backend {0} has no VM templates yet: import one with `hangar templates import`.',
                a.backend.id,
              ),
            );
          return {
            image: await pick(
              title,
              `4/${N}`,
              onHost.map((t) => ({ label: t.name, description: `${t.os} · ${t.firmware} · ${t.access.join(', ')}` })),
              a.image,
            ),
          };
        }
        return {
          image: await input(
            title,
            `4/${N}`,
            vscode.l10n.t('Image'),
            a.image ?? recentImages[0] ?? '',
            (v) => (v.trim() ? undefined : vscode.l10n.t('An image is required')),
            'registry/team/image:tag',
          ),
        };
      },
    },
    {
      title: 'cpu',
      run: async (a) => ({
        cpu: await input(title, `5/${N}`, vscode.l10n.t('CPU cores (empty: no limit)'), a.cpu ?? '', (v) =>
          checkNumber(v, { min: 0.01, optional: true }),
        ),
      }),
    },
    {
      title: 'memory',
      run: async (a) => ({
        memory: await input(title, `6/${N}`, vscode.l10n.t('Memory in MiB (empty: no limit)'), a.memory ?? '', (v) =>
          checkNumber(v, { min: 6, integer: true, optional: true }),
        ),
      }),
    },
    {
      title: 'gpu',
      run: async (a) => ({
        gpu_mode: await pick(
          title,
          `7/${N}`,
          GPU_MODES.map((m) => ({ label: m })),
          a.gpu_mode ?? 'none',
        ),
      }),
    },
    {
      title: 'gpus',
      run: async (a) => {
        if (a.gpu_mode === 'none') return { gpu_count: '', gpu_device_ids: '', gpu_model: '', gpu_mig_profile: '' };
        const onBackend = gpus.filter((g) => g.backend_id === a.backend?.id && g.present);
        if (a.gpu_mode === 'mig') {
          const profiles = [...new Set(onBackend.filter((g) => g.kind === 'mig').map((g) => g.profile!))];
          const profile = profiles.length
            ? await pick(
                title,
                `8/${N}`,
                profiles.map((p) => ({
                  label: p,
                  description: vscode.l10n.t('{0} free', onBackend.filter((g) => g.profile === p && g.free > 0).length),
                })),
                a.gpu_mig_profile,
              )
            : await input(title, `8/${N}`, vscode.l10n.t('MIG profile, e.g. 1g.10gb'), a.gpu_mig_profile ?? '', (v) =>
                /^\d+g\.\d+gb$/.test(v) ? undefined : vscode.l10n.t('A MIG profile like 1g.10gb'),
              );
          return { gpu_mig_profile: profile, gpu_count: '', gpu_device_ids: '', gpu_model: '' };
        }
        const models = [
          ...new Set(onBackend.filter((g) => g.kind === 'gpu' && g.mig_mode !== 'enabled').map((g) => g.model)),
        ];
        const any = vscode.l10n.t('any model');
        const model = models.length
          ? await pick(
              title,
              `8/${N}`,
              [
                { label: any },
                ...models.map((m) => ({
                  label: m,
                  description: vscode.l10n.t('{0} free', onBackend.filter((g) => g.model === m && g.free > 0).length),
                })),
              ],
              a.gpu_model || any,
            )
          : any;
        const count = await input(title, `8/${N}`, vscode.l10n.t('Number of GPUs'), a.gpu_count || '1', (v) =>
          checkNumber(v, { min: 1, integer: true }),
        );
        return { gpu_model: model === any ? '' : model, gpu_count: count, gpu_device_ids: '', gpu_mig_profile: '' };
      },
    },
    {
      title: 'storage',
      run: async (a) => ({
        storage_type: await pick(
          title,
          `9/${N}`,
          STORAGE_TYPES.map((t) => ({ label: t })),
          a.storage_type ?? 'local',
        ),
      }),
    },
    {
      title: 'lifecycle',
      run: async (a) => ({
        lifecycle_policy: await pick(
          title,
          `10/${N}`,
          LIFECYCLE_POLICIES.map((t) => ({ label: t })),
          a.lifecycle_policy ?? 'persistent',
        ),
      }),
    },
    {
      title: 'jumpserver',
      run: async (a) => ({
        use_jumpserver:
          (await pick(
            title,
            `11/${N}`,
            [
              { label: 'direct', description: vscode.l10n.t('connect through the gateway') },
              { label: 'jumpserver', description: vscode.l10n.t('route access through JumpServer') },
            ],
            a.use_jumpserver ? 'jumpserver' : 'direct',
          )) === 'jumpserver',
      }),
    },
  ];
  let answers: Partial<CreateAnswers> = { ...prefill };
  for (let i = 0; i < steps.length;) {
    try {
      answers = { ...answers, ...(await steps[i].run(answers)) };
      i++;
    } catch (err) {
      if (err instanceof Back) {
        i = Math.max(0, i - 1);
        continue;
      }
      if (err instanceof vscode.CancellationError) return undefined;
      throw err;
    }
  }
  return answers as CreateAnswers;
}

/** Sends the request and follows provisioning. */
export async function provision(client: HangarClient, answers: CreateAnswers): Promise<Environment | undefined> {
  const built = buildCreateRequest(answers);
  if (!built.request) throw new Error(built.error);
  return provisionRequest(client, built.request);
}

/** Sends a request (the full form's or a profile's) and follows provisioning; cancelling deletes what was made. */
export async function provisionRequest(
  client: HangarClient,
  request: CreateEnvironmentRequest | CreateFromProfileRequest,
): Promise<Environment | undefined> {
  let created: Environment | undefined;
  const r = await withCancellableProgress(vscode.l10n.t('Creating {0}', request.name), async (signal, report) => {
    created = await client.createEnvironment(request, signal);
    return client.waitFor(created.id, ['running'], {
      signal,
      onStatus: (e) => report(`${e.status}${e.status_message ? ': ' + e.status_message : ''}`),
    });
  });
  if (r.ok) return r.value;
  if (r.cancelled) {
    // Cancelling a create means "I don't want it": nothing half-made is left behind.
    if (created) await client.deleteEnvironment(created.id).catch(() => undefined);
    return undefined;
  }
  // A failed env holds no resources; it stays, with its reason, until the user deletes or retries it.
  throw r.error;
}
