// Extension settings that several modules read.
import os from 'node:os';
import path from 'node:path';
import * as vscode from 'vscode';

/** `hangar.caFile` (a company CA in PEM), with ~ expanded; undefined when unset. */
export function caFileSetting(): string | undefined {
  const v = vscode.workspace.getConfiguration('hangar').get<string>('caFile')?.trim();
  if (!v) return undefined;
  return v.startsWith('~') ? path.join(os.homedir(), v.slice(1)) : v;
}
