// Request validation for datasets and their objects, shared by the daemon (authoritative), the CLI and the extension.
// Object keys and prefixes are relative paths of plain segments: nothing can climb out of a dataset's prefix.
import { extendZodWithOpenApi } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';

extendZodWithOpenApi(z);

/** One path segment: letters, digits and a few punctuation marks; never "." or "..". */
const SEGMENT = /^[A-Za-z0-9_.,=+@()~-]+$/;
const SEGMENT_TEXT = 'letters, digits and _ . , = + @ ( ) ~ - between "/"';

/** Why `p` is not a relative path of plain segments (undefined when it is). */
export function relativePathProblem(p: string): string | undefined {
  if (p.startsWith('/')) return 'must be relative (no leading "/")';
  const parts = p.split('/');
  if (parts.some((s) => s === '..' || s === '.')) return 'must not contain ".." or "."';
  if (parts.some((s) => s === '')) return 'must not have empty segments ("//" or a trailing "/")';
  if (!parts.every((s) => SEGMENT.test(s))) return `must be ${SEGMENT_TEXT}`;
  return undefined;
}

const relativePath = (max: number) =>
  z
    .string()
    .min(1)
    .max(max)
    .superRefine((p, ctx) => {
      const why = relativePathProblem(p);
      if (why) ctx.addIssue({ code: 'custom', message: why });
    });

export const datasetName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_.-]{0,62}$/, 'must be lowercase letters, digits, "_", "." and "-" (at most 63)');
/** S3's bucket rules (the DNS-safe subset). */
export const bucketName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'must be 3-63 lowercase letters, digits, "." and "-"')
  .refine((b) => !b.includes('..'), 'must not contain ".."');
export const objectKey = relativePath(900);
const tag = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,39}$/, 'must be letters, digits, "_", ".", ":" and "-"');

/** POST /datasets */
export const createDatasetSchema = z
  .object({
    name: datasetName,
    store: z.string().min(1).max(63).describe("One of the gateway's object_stores (GET /object-stores)"),
    bucket: bucketName.describe('Made when it does not exist yet'),
    prefix: relativePath(512).optional().describe('Default: <owner>/<name> (a team: team-<team>/<name>)'),
    description: z.string().max(2000).optional(),
    tags: z.array(tag).max(32).optional(),
    team: z.union([z.literal(true), z.string().min(1).max(40)]).optional(),
  })
  .strict();
export type CreateDatasetInput = z.infer<typeof createDatasetSchema>;

/** PATCH /datasets/{id}: the catalogue fields (where it lives does not move). */
export const updateDatasetSchema = z
  .object({ description: z.string().max(2000).optional(), tags: z.array(tag).max(32).optional() })
  .strict();

/** DELETE /datasets/{id}?delete_objects=true also removes what is under its prefix. */
export const deleteDatasetQuery = z.object({ delete_objects: z.enum(['true', 'false']).optional() }).strict();

export const objectQuery = z.object({ key: objectKey }).strict();
export const listObjectsQuery = z
  .object({ prefix: relativePath(900).optional(), cursor: z.string().max(2048).optional() })
  .strict();

/** POST /datasets/{id}/uploads: a multipart upload (resumable part by part). */
export const startUploadSchema = z.object({ key: objectKey }).strict();
const uploadId = z.string().min(1).max(1024);
export const uploadQuery = z.object({ key: objectKey }).strict();
export const partParams = z.object({
  id: z.string().min(1),
  upload_id: uploadId,
  part: z.coerce.number().int().min(1).max(10000).openapi({ type: 'integer', minimum: 1, maximum: 10000 }),
});
export const completeUploadSchema = z
  .object({
    key: objectKey,
    parts: z
      .array(z.object({ part: z.number().int().min(1).max(10000), etag: z.string().min(1).max(256) }).strict())
      .min(1)
      .max(10000),
  })
  .strict();

/** POST /datasets/{id}/presign: a direct URL to the store, when the store allows it. */
export const presignSchema = z
  .object({
    key: objectKey,
    method: z.enum(['get', 'put']).default('get'),
    expires_s: z.number().int().min(60).max(604800).default(3600),
  })
  .strict();
