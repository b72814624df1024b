// Credentials for envs that reach a store themselves (VMs, pods), scoped to their datasets where the store can:
// versitygw gets an account per env and store (role "user", made through its admin API) and bucket policy
// statements for exactly the env's buckets/prefixes (scopedPolicy.ts). The secret is made here, handed to the
// backend once, and never stored: making the grant again (a re-created VM or pod) makes a new secret. A store that
// can't scope hands its own keys only where the operator opted in (full_credentials_to_envs). Policy edits of one
// bucket are serialized in this process (read-modify-write).
import {
  DeleteBucketPolicyCommand,
  GetBucketPolicyCommand,
  PutBucketPolicyCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import type { ObjectStoreCredentials } from './config';
import type { ObjectStores } from './stores';
import { accountFor, byBucket, mergePolicy, newSecret, statementsFor, type DatasetGrant } from './scopedPolicy';
import { VersitygwAdmin } from './versitygwAdmin';

export type { DatasetGrant } from './scopedPolicy';

export class ScopedAccess {
  private readonly chains = new Map<string, Promise<unknown>>();

  constructor(private readonly stores: ObjectStores) {}

  /** Why `store` can't give envs credentials of their own; undefined when it can. */
  refusal(store: string): string | undefined {
    const s = this.stores.get(store);
    if (!s) return `object store '${store}' is not configured`;
    if (s.config.scoping !== 'none' || s.config.full_credentials_to_envs) return undefined;
    return `object store '${store}' can't scope credentials to a dataset (object_stores scoping: none); VM and Kubernetes envs get its datasets only when the operator sets full_credentials_to_envs: true for it`;
  }

  /** The env's credentials on `store`, allowed exactly `grants` (made again, with a new secret, if they exist). */
  async grant(store: string, envId: string, grants: DatasetGrant[]): Promise<ObjectStoreCredentials> {
    const s = this.stores.get(store);
    const root = this.stores.credentialsOf(store);
    if (!s || !root) throw new Error(`object store '${store}' is not configured`);
    if (s.config.scoping === 'none') {
      if (!s.config.full_credentials_to_envs) throw new Error(this.refusal(store));
      return root;
    }
    const admin = this.admin(store);
    const account = accountFor(envId, store);
    const secret = newSecret();
    try {
      await this.removeStatements(
        store,
        account,
        grants.map((g) => g.bucket),
      ); // an earlier grant's
      await admin.deleteUser(account);
      await admin.createUser(account, secret);
      const live = new Set(await admin.listUsers());
      for (const [bucket, gs] of byBucket(grants))
        await this.editPolicy(s.client, bucket, (p) => mergePolicy(p, account, statementsFor(account, gs), live));
    } catch (err) {
      await this.revoke(
        store,
        envId,
        grants.map((g) => g.bucket),
      ).catch(() => undefined);
      throw err;
    }
    return { accessKeyId: account, secretAccessKey: secret };
  }

  /** Removes the env's statements from `buckets` and deletes its account. Idempotent. */
  async revoke(store: string, envId: string, buckets: string[]): Promise<void> {
    const s = this.stores.get(store);
    if (!s || s.config.scoping === 'none') return;
    const account = accountFor(envId, store);
    await this.removeStatements(store, account, buckets);
    await this.admin(store).deleteUser(account);
  }

  private async removeStatements(store: string, account: string, buckets: string[]): Promise<void> {
    const s = this.stores.get(store)!;
    const live = new Set(await this.admin(store).listUsers());
    for (const bucket of new Set(buckets))
      await this.editPolicy(s.client, bucket, (p) => mergePolicy(p, account, [], live));
  }

  private admin(store: string): VersitygwAdmin {
    const s = this.stores.get(store)!;
    return new VersitygwAdmin(
      s.config.admin_endpoint!,
      s.config.region,
      this.stores.credentialsOf(store)!,
      s.config.timeout_ms,
    );
  }

  /** Read-modify-write of a bucket's policy, one at a time per bucket. */
  private editPolicy(client: S3Client, bucket: string, edit: (p: string | undefined) => string | undefined) {
    const next = (this.chains.get(bucket) ?? Promise.resolve())
      .catch(() => undefined)
      .then(async () => {
        const current = await client
          .send(new GetBucketPolicyCommand({ Bucket: bucket }))
          .then((r) => r.Policy)
          .catch((e: { name?: string }) => {
            if (e.name === 'NoSuchBucketPolicy') return undefined;
            throw e;
          });
        const policy = edit(current);
        if (policy === current) return;
        if (policy) await client.send(new PutBucketPolicyCommand({ Bucket: bucket, Policy: policy }));
        else if (current) await client.send(new DeleteBucketPolicyCommand({ Bucket: bucket }));
      });
    this.chains.set(bucket, next);
    return next;
  }
}
