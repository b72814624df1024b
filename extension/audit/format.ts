// The audit trail as the read-only document the extension opens (no vscode import: tested under plain mocha).
import type { AuditEntry } from '../../common/model';

export function auditDocument(gateway: string, entries: AuditEntry[], more: boolean): string {
  const rows = [
    ['TIME', 'USER', 'ACTION', 'TARGET', 'RESULT', 'CLIENT', 'ADDRESS'],
    ...entries.map((e) => [
      e.at,
      e.user ?? '-',
      e.action,
      e.target ?? '-',
      e.result ?? '-',
      e.client ?? '-',
      e.address ?? '-',
    ]),
  ];
  const w = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  const lines = rows.map((r) =>
    r
      .map((c, i) => c.replace(/[\r\n]/g, ' ').padEnd(w[i]))
      .join('  ')
      .trimEnd(),
  );
  const head = `# Audit trail of ${gateway} (newest first, ${entries.length} entries${more ? '; older ones: hangar audit --all' : ''})`;
  return [head, '', ...lines, ''].join('\n');
}
