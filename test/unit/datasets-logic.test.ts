// Datasets' pure parts: key/prefix rules (no traversal, no odd characters), the tree's rows and progress text.
import assert from 'node:assert/strict';
import { createDatasetSchema, objectKey, relativePathProblem } from '../../common/datasets';
import type { Dataset } from '../../common/model';
import { bytesText, datasetRows, progressText } from '../../extension/tree/datasetModel';

describe('datasets: keys, prefixes and the tree rows', () => {
  it('accepts plain relative keys and refuses traversal, absolute, empty segments and odd characters', () => {
    for (const ok of ['a.txt', 'train/shard-0001.tar', 'x/y/z(1)+v=2@b~c,d'])
      assert.equal(relativePathProblem(ok), undefined);
    for (const bad of ['../x', 'a/../b', '/abs', 'a//b', 'a/', './a', 'a b', 'a\\b', 'ä', 'a\nb'])
      assert.ok(objectKey.safeParse(bad).success === false, bad);
    const r = createDatasetSchema.safeParse({ name: 'n', store: 's', bucket: 'b-1', prefix: '../../etc' });
    assert.equal(r.success, false);
  });

  it('rows say size, count and who mounts; progress says bytes and rate', () => {
    const d: Dataset = {
      id: 'i',
      name: 'imgs',
      owner_id: null,
      team: 'ml',
      store: 's3',
      bucket: 'b',
      prefix: 'team-ml/imgs',
      description: 'cats',
      tags: ['vision'],
      size_bytes: 3 * 1024 * 1024,
      object_count: 2,
      created_at: 't',
      updated_at: 't',
      mounted_by: [{ id: 'e', name: 'dev' }],
    };
    const [row] = datasetRows([d]);
    assert.equal(row.label, 'team:imgs');
    assert.equal(row.description, '3.0 MiB · 2 objects · dev');
    assert.match(row.tooltip, /s3: b\/team-ml\/imgs\ncats\n#vision/);
    assert.equal(
      progressText({ bytes: 1024, total: 2 * 1024 ** 3, rate: 5 * 1024 ** 2 }),
      '1024 B of 2.00 GiB · 5.0 MiB/s',
    );
    assert.equal(bytesText(0), '0 B');
  });
});
