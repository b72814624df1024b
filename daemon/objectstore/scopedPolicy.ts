// Bucket policy statements that scope one env's store account to its datasets (pure). A dataset is a bucket + prefix:
// the account may list under the prefix, read its objects and, when the mount is read-write, write and delete them —
// nothing else in the bucket, no other bucket. Hangar's statements carry a Sid naming the account, so they are
// replaced and removed without touching the operator's own statements (and stale ones, of accounts that are gone,
// are dropped: versitygw refuses a policy naming an unknown principal).
import crypto from 'node:crypto';

export interface DatasetGrant {
  bucket: string;
  prefix: string;
  readOnly: boolean;
}

interface Statement {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Principal: { AWS: string[] };
  Action: string[];
  Resource: string[];
  Condition?: Record<string, Record<string, string[]>>;
}
interface Policy {
  Version: string;
  Statement: Statement[];
}

const ACCOUNT_PREFIX = 'hgenv';
const SID = /^Hangar(hgenv[0-9a-f]+)S\d+$/;

/** The env's account name on a store: derived (so a delete can find it without storing it), not a secret. */
export function accountFor(envId: string, store: string): string {
  return ACCOUNT_PREFIX + crypto.createHash('sha256').update(`${envId}/${store}`).digest('hex').slice(0, 27);
}

/** A fresh secret key: 40 characters of [A-Za-z0-9] (s3fs's passwd file and rclone take it as it is). */
export function newSecret(): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  return Array.from(crypto.randomBytes(40), (b) => alphabet[b % alphabet.length]).join('');
}

const WRITE_ACTIONS = ['s3:PutObject', 's3:DeleteObject', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts'];

/** The statements for `account` on one bucket (grants all in that bucket). */
export function statementsFor(account: string, grants: DatasetGrant[]): Statement[] {
  const out: Statement[] = [];
  const principal = { AWS: [account] };
  for (const g of grants) {
    const arn = `arn:aws:s3:::${g.bucket}`;
    const p = g.prefix.replace(/\/+$/, '');
    out.push(
      {
        Effect: 'Allow',
        Principal: principal,
        Action: ['s3:ListBucket'],
        Resource: [arn],
        Condition: { StringLike: { 's3:prefix': [p, `${p}/`, `${p}/*`] } },
      },
      { Effect: 'Allow', Principal: principal, Action: ['s3:GetObject'], Resource: [`${arn}/${p}`, `${arn}/${p}/*`] },
    );
    if (!g.readOnly)
      out.push({ Effect: 'Allow', Principal: principal, Action: WRITE_ACTIONS, Resource: [`${arn}/${p}/*`] });
  }
  return out.map((s, i) => ({ Sid: `Hangar${account}S${i}`, ...s }));
}

/** `current` (the bucket's policy JSON, or none) with `account`'s statements replaced by `add`, and Hangar
 *  statements of accounts not in `live` dropped. Undefined: nothing is left (the policy is to be deleted). */
export function mergePolicy(
  current: string | undefined,
  account: string,
  add: Statement[],
  live: ReadonlySet<string>,
): string | undefined {
  const policy: Policy = current ? (JSON.parse(current) as Policy) : { Version: '2012-10-17', Statement: [] };
  const kept = (policy.Statement ?? []).filter((s) => {
    const owner = SID.exec(s.Sid ?? '')?.[1];
    return !owner || (owner !== account && live.has(owner));
  });
  const statements = [...kept, ...add];
  if (!statements.length) return undefined;
  return JSON.stringify({ Version: policy.Version || '2012-10-17', Statement: statements });
}

/** Grants grouped by bucket. */
export function byBucket(grants: DatasetGrant[]): Map<string, DatasetGrant[]> {
  const out = new Map<string, DatasetGrant[]>();
  for (const g of grants) out.set(g.bucket, [...(out.get(g.bucket) ?? []), g]);
  return out;
}
