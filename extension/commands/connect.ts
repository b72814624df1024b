// Connect to a gateway (URL + token, verified before it is stored) and log out (every window follows).
import * as vscode from 'vscode';
import { ApiError, HangarClient, VSCODE_CLIENT } from '../../common/client';
import { ensureLocalKey } from '../../common/localKey';
import { CertificateChangedError } from '../../common/tls/errors';
import { decideLoginTrust } from '../../common/tls/tofu';
import { probeCertificate } from '../../common/tls/trust';
import { caFileSetting } from '../core/settings';
import type { Services } from '../core/services';
import { normalizeUrl } from '../gateways/store';
import { tlsTrust } from '../gateways/trust';

/** https:// only: the pin to keep (undefined: a trusted CA signed it), or 'cancelled' (declined, or changed and refused). */
async function certificatePin(s: Services, url: string): Promise<string | undefined | 'cancelled'> {
  if (!url.startsWith('https:')) return undefined;
  const caFile = caFileSetting();
  const { ca } = tlsTrust({ caFile });
  // Only a handshake: nothing (no token) is sent before the certificate is accepted.
  const peer = await probeCertificate(url, ca).catch((err: Error) => {
    throw new ApiError(0, 'unreachable', `gateway ${url} is unreachable: ${err.message}`);
  });
  const trust = decideLoginTrust(url, peer, { pinned: await s.store.pin(url) });
  if (trust.kind === 'refuse') {
    if (!(trust.error instanceof CertificateChangedError)) throw trust.error;
    const e = trust.error;
    // Refused, never re-pinned from here: a new pin takes a logout first (which forgets the old one).
    await vscode.window.showErrorMessage(vscode.l10n.t('The TLS certificate of {0} changed: not connected.', url), {
      modal: true,
      detail: `${vscode.l10n.t('Pinned SHA-256:')}\n${e.pinned}\n${vscode.l10n.t('Presented SHA-256:')}\n${e.presented}\n\n${vscode.l10n.t('Either the gateway has a new certificate or someone is intercepting the connection; nothing was sent. Compare the presented fingerprint with the one hangard printed when it started (on stderr and in its log). If they match, log out of this gateway and connect again.')}`,
    });
    return 'cancelled';
  }
  if (trust.kind === 'ca') return undefined;
  if (!trust.firstUse) return trust.fingerprint256;
  const accept = vscode.l10n.t('Trust and Connect');
  const choice = await vscode.window.showWarningMessage(
    vscode.l10n.t('{0} presents a certificate that no trusted authority signed.', url),
    {
      modal: true,
      detail: `${vscode.l10n.t('SHA-256 fingerprint:')}\n${trust.fingerprint256}\n\n${vscode.l10n.t('Compare it with the fingerprint hangard printed when it started (on stderr and in its log). If you trust it, Hangar remembers it for this gateway and refuses any other certificate. For a company CA, set hangar.caFile instead.')}`,
    },
    accept,
  );
  if (choice !== accept) return 'cancelled';
  s.log.info(`${url}: certificate SHA-256 ${trust.fingerprint256} trusted on first use`);
  return trust.fingerprint256;
}

export function validateGatewayUrl(v: string): string | undefined {
  try {
    const u = new URL(v.trim());
    if (u.protocol !== 'http:' && u.protocol !== 'https:') return vscode.l10n.t('Use an http:// or https:// URL');
    return undefined;
  } catch {
    return vscode.l10n.t('Not a URL, e.g. https://hangar.example.com');
  }
}

export async function connect(s: Services, urlArg?: string, tokenArg?: string): Promise<string | undefined> {
  const url =
    urlArg ??
    (await vscode.window.showInputBox({
      title: vscode.l10n.t('Connect to a Hangar gateway (1/2)'),
      prompt: vscode.l10n.t('Gateway URL'),
      placeHolder: 'http://127.0.0.1:7420',
      ignoreFocusOut: true,
      validateInput: validateGatewayUrl,
    }));
  if (!url) return undefined;
  const token =
    tokenArg ??
    (await vscode.window.showInputBox({
      title: vscode.l10n.t('Connect to a Hangar gateway (2/2)'),
      prompt: vscode.l10n.t('API token (hangar user create, or <data dir>/admin.token)'),
      password: true,
      ignoreFocusOut: true,
      validateInput: (v) => (v.trim() ? undefined : vscode.l10n.t('A token is required')),
    }));
  if (!token) return undefined;
  const normalized = normalizeUrl(url);
  const pin = await certificatePin(s, normalized);
  if (pin === 'cancelled') return undefined;
  const user = await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: vscode.l10n.t('Connecting to {0}…', normalized) },
    async () => {
      const client = new HangarClient({
        url: normalized,
        token: token.trim(),
        timeoutMs: 15_000,
        client: VSCODE_CLIENT,
        tls: tlsTrust({ pin, caFile: caFileSetting() }),
      });
      const me = await client.me();
      // Our own SSH key, registered with the gateway, so attach needs nothing from the user.
      await ensureLocalKey(client, s.cli.configDir, `vscode-hangar@${vscode.env.machineId.slice(0, 8)}`);
      return me;
    },
  );
  await s.store.add(normalized, token.trim(), pin);
  await s.gateways.reload();
  void vscode.window.showInformationMessage(vscode.l10n.t('Connected to {0} as {1}.', normalized, user.name));
  return normalized;
}

export async function logout(s: Services, arg?: unknown): Promise<void> {
  const urls = await s.store.list();
  let url = typeof arg === 'string' ? arg : (arg as { gateway?: { url: string } })?.gateway?.url;
  if (!url) {
    if (urls.length === 0) return;
    url =
      urls.length === 1
        ? urls[0]
        : await vscode.window.showQuickPick(urls, { placeHolder: vscode.l10n.t('Log out of which gateway?') });
  }
  if (!url) return;
  await s.store.remove(url);
  await s.gateways.reload();
}
