// Create from a profile: pick one (what it gives shown), answer its options (GPU choices say what is free), name
// it — two or three steps. "Custom environment…" leads to the full form where the gateway allows it.
import * as vscode from 'vscode';
import type { GpuInfo } from '../../common/model';
import type { CreateFromProfileRequest, ProfileChoice, ProfileList } from '../../common/profiles';
import { Back, input, pick } from './flow';
import { askedOptions, buildProfileRequest, optionChoices, profileItems } from './profiles';
import { checkName } from './request';

/** The request, 'custom' for the full form, or undefined when cancelled. */
export async function askProfileRequest(
  list: ProfileList,
  gpus: GpuInfo[],
): Promise<CreateFromProfileRequest | 'custom' | undefined> {
  const title = vscode.l10n.t('Create Hangar environment');
  const custom = vscode.l10n.t('$(edit) Custom environment…');
  const items = profileItems(list.profiles);
  let i = 0;
  let picked: (typeof items)[number] | undefined;
  const chosen: Record<string, ProfileChoice> = {};
  for (;;) {
    const asked = picked ? askedOptions(picked.profile) : [];
    const total = `${2 + asked.length}`;
    try {
      if (i === 0) {
        const label = await pick(
          title,
          `1/${total}`,
          [
            ...items.map(({ label, description, detail }) => ({ label, description, detail })),
            ...(list.custom_allowed
              ? [{ label: custom, description: vscode.l10n.t('every field, as an admin sets them') }]
              : []),
          ],
          picked?.label,
        );
        if (label === custom) return 'custom';
        picked = items.find((x) => x.label === label)!;
        for (const k of Object.keys(chosen)) delete chosen[k];
      } else if (i <= asked.length) {
        const field = asked[i - 1];
        const choices = optionChoices(picked!.profile, field, gpus);
        if (choices.length === 0)
          throw new Error(
            vscode.l10n.t('No backend of this gateway has any GPU model profile {0} offers.', picked!.profile.name),
          );
        const label = await pick(
          `${title}: ${picked!.label} · ${field}`,
          `${i + 1}/${total}`,
          choices,
          choices.find((c) => c.description?.startsWith('default'))?.label,
        );
        chosen[field] = choices.find((c) => c.label === label)!.choice;
      } else {
        const name = await input(
          `${title}: ${picked!.label}`,
          `${total}/${total}`,
          vscode.l10n.t('Name (lowercase letters, digits, -)'),
          '',
          (v) => checkName(v),
        );
        return buildProfileRequest(name, picked!.profile, chosen);
      }
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
}
