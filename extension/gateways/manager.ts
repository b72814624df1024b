// All connected gateways, rebuilt from the store whenever any window connects or logs out.
import * as vscode from 'vscode';
import type { Environment } from '../../common/model';
import { GatewayConnection } from './connection';
import type { GatewayStore } from './store';
import { TlsTrustError } from '../../common/tls/errors';
import type { TlsTrust } from '../../common/tls/trust';
import { tlsTrust, trustKey } from './trust';

export interface EnvRef {
  gateway: GatewayConnection;
  env: Environment;
}

export class GatewayManager implements vscode.Disposable {
  private readonly connections = new Map<string, GatewayConnection>();
  private readonly emitter = new vscode.EventEmitter<void>();
  readonly onDidChange = this.emitter.event;
  private readonly subs: vscode.Disposable[] = [];

  constructor(private readonly store: GatewayStore) {
    this.subs.push(store.onDidChange(() => void this.reload()));
  }

  async reload(): Promise<void> {
    const urls = await this.store.list();
    for (const [url, c] of this.connections) {
      const token = await this.store.token(url);
      const key = trustKey(await this.store.trust(url));
      if (!urls.includes(url) || token !== c.client.token || key !== c.trustKey) {
        c.dispose();
        this.connections.delete(url);
      }
    }
    for (const url of urls) {
      if (this.connections.has(url)) continue;
      const token = await this.store.token(url);
      if (!token) continue;
      const t = await this.store.trust(url);
      let tls: TlsTrust = {};
      let trustError: TlsTrustError | undefined;
      try {
        tls = tlsTrust(t);
      } catch (err) {
        if (err instanceof TlsTrustError) trustError = err;
        else throw err;
      }
      const c = new GatewayConnection(url, token, tls, trustKey(t), trustError);
      c.onDidChange(() => this.emitter.fire());
      this.connections.set(url, c);
      c.start();
    }
    this.emitter.fire();
  }

  all(): GatewayConnection[] {
    return [...this.connections.values()];
  }
  get(url: string): GatewayConnection | undefined {
    return this.connections.get(url.replace(/\/+$/, ''));
  }

  /** An env by id or name; `gateway` narrows the search when several gateways know the name. */
  find(idOrName: string, gateway?: string): EnvRef | undefined {
    for (const g of gateway ? ([this.get(gateway)].filter(Boolean) as GatewayConnection[]) : this.all()) {
      const env = g.find(idOrName);
      if (env) return { gateway: g, env };
    }
    return undefined;
  }

  async refreshAll(): Promise<void> {
    await Promise.all(this.all().map((g) => g.refresh()));
  }

  dispose(): void {
    for (const c of this.connections.values()) c.dispose();
    this.subs.forEach((s) => s.dispose());
    this.emitter.dispose();
  }
}
