// What a UI wait that timed out saw, for its error message (CI keeps the output, not the screenshots).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import type { CodeServer } from './harness';
/** What a UI wait that timed out saw, for the error: the page's visibility and focus, every frame's URL and first
 *  text, the notification toasts, and the lines of the extension's own log (its output channel) under user-data. */
export async function uiState(page: Page, cs: CodeServer, logMatch = /desktop|jupyter|hangar/i): Promise<string> {
  const out: string[] = [];
  const vis = await page
    .evaluate(() => `${document.visibilityState}, focus ${document.hasFocus()}`)
    .catch((e: Error) => e.message);
  out.push(`page: ${vis}; pages open: ${page.context().pages().length}`);
  for (const f of page.frames()) {
    const text = await f
      .evaluate(() => document.body?.innerText.replace(/\s+/g, ' ').slice(0, 160) ?? '')
      .catch((e: Error) => `(${e.message.split('\n')[0]})`);
    out.push(`frame ${f.url().slice(0, 160)}: ${text}`);
  }
  const toasts = await page
    .locator('.notifications-toasts')
    .allTextContents()
    .catch(() => []);
  out.push(`notifications: ${toasts.join(' | ') || '(none)'}`);
  try {
    const logs = execFileSync('find', [path.join(cs.userDataDir, 'logs'), '-name', '*.log'], { encoding: 'utf8' })
      .split('\n')
      .filter((f) => /Hangar|exthost/i.test(f));
    for (const f of logs) {
      const lines = fs
        .readFileSync(f, 'utf8')
        .split('\n')
        .filter((l) => logMatch.test(l));
      if (lines.length) out.push(`${path.basename(f)}:\n  ${lines.slice(-15).join('\n  ')}`);
    }
  } catch (e) {
    out.push(`logs: ${(e as Error).message.split('\n')[0]}`);
  }
  return out.join('\n');
}
