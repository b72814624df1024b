// "Profile: What Changed…": what changed in an env's profile since it was made, and the command that makes it again.
import * as vscode from 'vscode';
import type { Services } from '../core/services';
import { provisionRequest } from '../create/flow';
import { driftText, recreateCommand } from '../create/profiles';
import { checkName } from '../create/request';
import { targets } from './targets';

export async function showProfileDrift(s: Services, arg: unknown): Promise<void> {
  const [ref] = await targets(s, arg, undefined, { placeholder: vscode.l10n.t('Show the profile changes of…') });
  if (!ref) return;
  const d = await ref.gateway.client.profileDrift(ref.env.id);
  if (!d.profile) {
    void vscode.window.showInformationMessage(vscode.l10n.t('{0} was not created from a profile.', ref.env.name));
    return;
  }
  const copy = vscode.l10n.t('Copy Recreate Command');
  const again = vscode.l10n.t('Create Another from It…');
  const picked = await vscode.window.showInformationMessage(
    d.changed.length || d.profile_changed
      ? vscode.l10n.t('Profile {0} changed since {1} was created.', d.profile, ref.env.name)
      : vscode.l10n.t('{0} matches its profile {1}.', ref.env.name, d.profile),
    { modal: true, detail: driftText(d) },
    ...(d.available ? [copy, again] : [copy]),
  );
  if (picked === copy) await vscode.env.clipboard.writeText(recreateCommand(d));
  if (picked !== again || !d.recreate) return;
  // The same profile and options under a new name: the profile as it is now (what the drift above lists).
  const name = await vscode.window.showInputBox({
    prompt: vscode.l10n.t('Name (lowercase letters, digits, -)'),
    value: `${ref.env.name}-2`,
    validateInput: (v) => checkName(v),
  });
  if (!name) return;
  const env = await provisionRequest(ref.gateway.client, { ...d.recreate, name });
  await ref.gateway.refresh();
  if (env) void vscode.window.showInformationMessage(vscode.l10n.t('{0} is running.', env.name));
}
