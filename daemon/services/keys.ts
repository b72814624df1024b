// Per-user SSH keys (ed25519): uploaded public keys, or pairs the daemon generates and hands out once.
import crypto from 'node:crypto';
import { utils } from 'ssh2';
import type { SshKey } from '../../common/model';
import { fingerprint, generateEd25519 } from '../../common/sshkeys';
import { InputError, NotFoundError } from '../errors';
import type { UserRepo } from '../store/users';

export { generateEd25519 };

export class SshKeyService {
  private listeners: ((userId: string) => Promise<void>)[] = [];
  private readonly users: UserRepo;
  constructor(o: { users: UserRepo }) {
    this.users = o.users;
  }

  /** Called after a user's keys change, so live environments get the new authorized_keys. */
  onChange(fn: (userId: string) => Promise<void>): void {
    this.listeners.push(fn);
  }

  async add(userId: string, name: string, publicKey: string): Promise<SshKey> {
    const parsed = utils.parseKey(publicKey);
    if (parsed instanceof Error) throw new InputError('public_key', `public_key: ${parsed.message}`);
    const normalized = publicKey.trim().split(/\s+/).slice(0, 3).join(' ');
    const key: SshKey = {
      id: crypto.randomUUID(),
      name,
      public_key: normalized,
      fingerprint: fingerprint(normalized),
      created_at: new Date().toISOString(),
    };
    await this.users.insertKey(userId, key);
    await this.changed(userId);
    return key;
  }

  async generate(userId: string, name: string, comment: string): Promise<SshKey & { private_key: string }> {
    const pair = generateEd25519(comment);
    const key = await this.add(userId, name, pair.publicKey);
    return { ...key, private_key: pair.privateKey };
  }

  list(userId: string): Promise<SshKey[]> {
    return this.users.listKeys(userId);
  }

  async remove(userId: string, id: string): Promise<void> {
    if (!(await this.users.deleteKey(userId, id))) throw new NotFoundError('ssh key', id);
    await this.changed(userId);
  }

  async authorizedKeys(userId: string): Promise<string> {
    return (await this.users.listKeys(userId)).map((k) => k.public_key).join('\n') + '\n';
  }

  private async changed(userId: string): Promise<void> {
    for (const fn of this.listeners) await fn(userId);
  }
}
