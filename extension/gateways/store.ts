// Gateways and their tokens, in SecretStorage (never settings.json). The list lives there too, so a connect or a
// logout in one window reaches every window through `onDidChange`.
import fs from 'node:fs';
import path from 'node:path';
import * as vscode from 'vscode';
import type { GatewayLogin } from '../../cli/credentials';
import type { GatewayTrust } from './trust';

const LIST_KEY = 'hangar.gateways';
const tokenKey = (url: string) => `hangar.token:${url}`;
/** The certificate fingerprint accepted at first connect (trust on first use); removed at logout. */
const pinKey = (url: string) => `hangar.tls:${url}`;
export const normalizeUrl = (url: string) => url.trim().replace(/\/+$/, '');

export class GatewayStore implements vscode.Disposable {
  private readonly emitter = new vscode.EventEmitter<void>();
  readonly onDidChange = this.emitter.event;
  private readonly sub: vscode.Disposable;

  /** `cliDir` holds the bundled CLI's config (tokens, 0600), SSH key and pinned host keys: ssh's ProxyCommand reads it. */
  /** `caFile`: the `hangar.caFile` setting, written into the CLI config too (the ProxyCommand trusts it as well). */
  constructor(
    private readonly secrets: vscode.SecretStorage,
    readonly cliDir: string,
    private readonly caFile: () => string | undefined = () => undefined,
  ) {
    this.sub = secrets.onDidChange((e) => {
      if (e.key === LIST_KEY || e.key.startsWith('hangar.token:') || e.key.startsWith('hangar.tls:'))
        this.emitter.fire();
    });
  }

  async list(): Promise<string[]> {
    try {
      return JSON.parse((await this.secrets.get(LIST_KEY)) ?? '[]') as string[];
    } catch {
      return [];
    }
  }

  token(url: string): Thenable<string | undefined> {
    return this.secrets.get(tokenKey(normalizeUrl(url)));
  }

  pin(url: string): Thenable<string | undefined> {
    return this.secrets.get(pinKey(normalizeUrl(url)));
  }

  /** What this gateway's connections trust (pin and CA file). */
  async trust(url: string): Promise<GatewayTrust> {
    const pin = await this.pin(url);
    const caFile = this.caFile();
    return { ...(pin ? { pin } : {}), ...(caFile ? { caFile } : {}) };
  }

  /** `pin`: the certificate fingerprint the user accepted; absent when a trusted CA signed it (an old pin goes). */
  async add(url: string, token: string, pin?: string): Promise<void> {
    const u = normalizeUrl(url);
    if (pin) await this.secrets.store(pinKey(u), pin);
    else await this.secrets.delete(pinKey(u));
    await this.secrets.store(tokenKey(u), token);
    const list = await this.list();
    if (!list.includes(u)) await this.secrets.store(LIST_KEY, JSON.stringify([...list, u]));
    await this.syncCliConfig();
  }

  async remove(url: string): Promise<void> {
    const u = normalizeUrl(url);
    await this.secrets.store(LIST_KEY, JSON.stringify((await this.list()).filter((x) => x !== u)));
    await this.secrets.delete(tokenKey(u));
    await this.secrets.delete(pinKey(u));
    await this.syncCliConfig();
  }

  /** The CLI (ProxyCommand, terminals) reads tokens, pins and the CA file from its own 0600 config file in the
   *  extension's storage (the shape of cli/credentials.ts). */
  async syncCliConfig(): Promise<void> {
    const gateways: Record<string, GatewayLogin> = {};
    const caFile = this.caFile();
    for (const u of await this.list()) {
      const t = await this.token(u);
      const pin = await this.pin(u);
      if (t)
        gateways[u] = { token: t, ...(pin ? { tls_fingerprint: pin } : {}), ...(caFile ? { ca_file: caFile } : {}) };
    }
    fs.mkdirSync(this.cliDir, { recursive: true, mode: 0o700 });
    const file = path.join(this.cliDir, 'config.json');
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify({ current: Object.keys(gateways)[0], gateways }, null, 2), { mode: 0o600 });
    fs.renameSync(tmp, file);
  }

  dispose(): void {
    this.sub.dispose();
    this.emitter.dispose();
  }
}
