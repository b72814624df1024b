// The configured object stores, composed once (server.ts): a client per store, their health, and the 503 that names
// a store that doesn't answer. Credentials are read here at start and stay inside the clients.
import { ObjectStoreUnavailableError } from '../errors';
import { objectStoreClient, storeHealth, storeProblem, type ObjectStore } from './client';
import { readCredentials, type ObjectStoreConfig, type ObjectStoreCredentials } from './config';

export class ObjectStores {
  private readonly stores = new Map<string, ObjectStore & { credentials: ObjectStoreCredentials }>();

  constructor(configs: ObjectStoreConfig[], env: NodeJS.ProcessEnv = process.env) {
    for (const c of configs) {
      const credentials = readCredentials(c, env);
      this.stores.set(c.name, { ...objectStoreClient(c, credentials), credentials });
    }
  }

  names(): string[] {
    return [...this.stores.keys()];
  }

  has(name: string): boolean {
    return this.stores.has(name);
  }

  /** The store, or undefined (callers say which field named it). */
  get(name: string): ObjectStore | undefined {
    return this.stores.get(name);
  }

  /** The store's keys, for the host-side FUSE mounts only (environments/datasetMounts.ts); never answered. */
  credentialsOf(name: string): ObjectStoreCredentials | undefined {
    return this.stores.get(name)?.credentials;
  }

  async health(): Promise<{ name: string; endpoint: string; ok: boolean; problem?: string; presign: boolean }[]> {
    return Promise.all(
      [...this.stores.values()].map(async (s) => ({ ...(await storeHealth(s)), presign: s.config.presign })),
    );
  }

  /** Runs `fn` against the store; a network failure (or a 5xx) becomes a 503 naming the store. */
  async call<T>(store: ObjectStore, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      if (isUnavailable(e)) throw new ObjectStoreUnavailableError(store.name, storeProblem(e));
      throw e;
    }
  }

  close(): void {
    for (const s of this.stores.values()) s.client.destroy();
  }
}

/** Network errors and the store's own 5xx answers: it is down, not the request wrong. */
export function isUnavailable(e: unknown): boolean {
  const err = e as { $metadata?: { httpStatusCode?: number }; code?: string; name?: string };
  const status = err.$metadata?.httpStatusCode;
  if (status !== undefined) return status >= 500;
  return (
    ['ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'ENOTFOUND', 'ETIMEDOUT', 'EPIPE'].includes(err.code ?? '') ||
    err.name === 'TimeoutError'
  );
}
