// "Profile: What Changed…": what changed in an env's profile since it was made, and the command that makes it again.
import * as vscode from 'vscode';
import type { Services } from '../core/services';
import { driftText, recreateCommand } from '../create/profiles';
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
  const picked = await vscode.window.showInformationMessage(
    d.changed.length || d.profile_changed
      ? vscode.l10n.t('Profile {0} changed since {1} was created.', d.profile, ref.env.name)
      : vscode.l10n.t('{0} matches its profile {1}.', ref.env.name, d.profile),
    { modal: true, detail: driftText(d) },
    copy,
  );
  if (picked === copy) await vscode.env.clipboard.writeText(recreateCommand(d));
}
