// Datasets as rows of the Datasets tree, and transfer progress as text: pure, so plain mocha tests them.
import type { Dataset } from '../../common/model';
import type { Progress } from '../../common/datasetsClient';

const MiB = 1024 * 1024;
export const bytesText = (n: number) =>
  n >= 1024 * MiB ? `${(n / 1024 / MiB).toFixed(2)} GiB` : n >= MiB ? `${(n / MiB).toFixed(1)} MiB` : `${n} B`;

export interface DatasetRow {
  label: string;
  description: string;
  tooltip: string;
  dataset: Dataset;
}

export function datasetRows(ds: Dataset[]): DatasetRow[] {
  return ds.map((d) => ({
    label: d.team ? `team:${d.name}` : d.name,
    description: `${bytesText(d.size_bytes)} · ${d.object_count} objects${d.mounted_by.length ? ` · ${d.mounted_by.map((e) => e.name).join(', ')}` : ''}`,
    tooltip: [
      `${d.store}: ${d.bucket}/${d.prefix}`,
      d.description,
      d.tags.length ? `#${d.tags.join(' #')}` : '',
      `updated ${d.updated_at}`,
    ]
      .filter(Boolean)
      .join('\n'),
    dataset: d,
  }));
}

/** "12.0 MiB of 1.00 GiB · 85.3 MiB/s": what withProgress shows. */
export const progressText = (p: Progress) => `${bytesText(p.bytes)} of ${bytesText(p.total)} · ${bytesText(p.rate)}/s`;
