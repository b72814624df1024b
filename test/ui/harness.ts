// UI-test harness: a real VS Code workbench (code-server from npm, run on its own Node 24; see
// test/setup/code-server.sh) driven by Playwright through Debian's Chromium. Nothing is downloaded.
//
//   const cs = await startCodeServer({ workspace, extensionVsix: 'dist/hangar.vsix', settings, env });
//   const wb = await openWorkbench(cs);            // Playwright page with the workbench visible
//   await runCommand(wb.page, 'Hangar: Refresh');
//   await screenshot(wb.page, 'after-refresh');    // test-results/screenshots/after-refresh.png
//   await wb.close(); await cs.stop();
//
// runExtensionTests() runs an extension's integration suite (vscode API, mocha inside the
// extension host) in code-server through the smoke-test driver payload.
import type { HangarClient } from '../../common/client';
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { CACHE_DIR } from '../helpers/cache';
import {
  chromium,
  type Browser,
  type BrowserContext,
  type ConsoleMessage,
  type Locator,
  type Page,
} from 'playwright-core';

export const HANGAR_CACHE = CACHE_DIR;
/** The wrapper test/setup/code-server.sh writes: code-server on its own Node 24. */
export const CODE_SERVER_BIN = process.env.HANGAR_CODE_SERVER ?? path.join(HANGAR_CACHE, 'code-server/bin/code-server');
export const CHROMIUM = process.env.HANGAR_CHROMIUM ?? '/usr/bin/chromium';
export const REPO_ROOT = path.resolve(__dirname, '../..');
export const RESULTS_DIR = path.join(REPO_ROOT, 'test-results');
export const SCREENSHOT_DIR = path.join(RESULTS_DIR, 'screenshots');
/** HANGAR_UI_KEEP=1 keeps each code-server's temp dir (logs, user data) after stop(). */
const KEEP = process.env.HANGAR_UI_KEEP === '1';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
];

/** Settings every instance gets (quiet, no network, nothing opening by itself); `settings` override them. */
export const DEFAULT_SETTINGS: Record<string, unknown> = {
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  'workbench.enableExperiments': false,
  'workbench.welcomePage.walkthroughs.openOnInstall': false,
  'workbench.secondarySideBar.defaultVisibility': 'hidden',
  'telemetry.telemetryLevel': 'off',
  'update.mode': 'none',
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'extensions.ignoreRecommendations': true,
  'security.workspace.trust.enabled': false,
  'git.enabled': false,
  'chat.disableAIFeatures': true,
  'window.restoreWindows': 'none',
  'files.hotExit': 'off',
};

// ---------------------------------------------------------------------------------------------
// Processes

interface ProcInfo {
  pid: number;
  ppid: number;
  pgid: number;
  start: string;
  cmd: string;
}

function readProcs(): ProcInfo[] {
  const out: ProcInfo[] = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
      // pid (comm) state ppid pgrp session ... field 22 = starttime; comm may contain spaces/parens.
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const cmd = fs.readFileSync(`/proc/${name}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
      out.push({ pid: Number(name), ppid: Number(rest[1]), pgid: Number(rest[2]), start: rest[19], cmd });
    } catch {
      /* exited meanwhile */
    }
  }
  return out;
}

function envHas(pid: number, marker: string): boolean {
  try {
    return fs.readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').includes(marker);
  } catch {
    return false;
  }
}

/** Live processes of one code-server instance: its process group, its descendants (pty shells
 * start their own sessions) and anything carrying the instance's marker in its environment. */
function instanceProcs(rootPid: number, marker: string): ProcInfo[] {
  const all = readProcs();
  const byParent = new Map<number, ProcInfo[]>();
  for (const p of all) byParent.set(p.ppid, [...(byParent.get(p.ppid) ?? []), p]);
  const found = new Map<number, ProcInfo>();
  const walk = (pid: number) => {
    for (const c of byParent.get(pid) ?? [])
      if (!found.has(c.pid)) {
        found.set(c.pid, c);
        walk(c.pid);
      }
  };
  for (const p of all) {
    if (p.pid === rootPid || p.pgid === rootPid || envHas(p.pid, marker)) {
      found.set(p.pid, p);
      walk(p.pid);
    }
  }
  return [...found.values()].filter((p) => p.pid !== process.pid);
}

function alive(p: ProcInfo): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${p.pid}/stat`, 'utf8');
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return rest[19] === p.start && rest[0] !== 'Z';
  } catch {
    return false;
  }
}

function signal(pids: number[], sig: NodeJS.Signals): void {
  for (const pid of pids)
    try {
      process.kill(pid, sig);
    } catch {
      /* gone */
    }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Every running instance, killed hard if the test process exits without stopping them. */
const live = new Set<{ pid: number; marker: string }>();
process.on('exit', () => {
  for (const i of live) {
    try {
      process.kill(-i.pid, 'SIGKILL');
    } catch {
      /* gone */
    }
    signal(
      instanceProcs(i.pid, i.marker).map((p) => p.pid),
      'SIGKILL',
    );
  }
});

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net
      .createServer()
      .once('error', reject)
      .listen(0, '127.0.0.1', () => {
        const { port } = s.address() as net.AddressInfo;
        s.close(() => resolve(port));
      });
  });
}

function httpStatus(url: string): Promise<number> {
  return new Promise((resolve) => {
    const req = http.get(url, { timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(0));
  });
}

function tail(file: string, lines = 40): string {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

/** A clean environment for code-server: no VS Code / npm variables of whatever launched the tests. */
function baseEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (/^(VSCODE_|ELECTRON_|npm_|NODE_OPTIONS$|NODE_PATH$|TS_NODE_|TSX_)/.test(k)) continue;
    env[k] = v;
  }
  return env;
}

function execCodeServer(
  args: string[],
  env: NodeJS.ProcessEnv,
  timeoutMs = 120_000,
): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(CODE_SERVER_BIN, args, { env, timeout: timeoutMs, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, out: stdout + stderr });
    });
  });
}

// ---------------------------------------------------------------------------------------------
// code-server

export interface CodeServerOptions {
  /** Folder the workbench opens. */
  workspace: string;
  /** .vsix file(s) installed with --install-extension before the server starts. */
  extensionVsix?: string | string[];
  /** User settings (merged over DEFAULT_SETTINGS) written to <user-data-dir>/User/settings.json. */
  settings?: Record<string, unknown>;
  /** Extra environment for code-server and so for the extension host (e.g. HANGAR_URL). */
  env?: Record<string, string>;
  /** Extra code-server flags, e.g. ['--vscode-option', 'enable-smoke-test-driver']. */
  args?: string[];
  /** How long to wait for HTTP (ms, default 30 s). */
  startTimeoutMs?: number;
}

export interface CodeServer {
  /** http://127.0.0.1:<port>/ (opens `workspace`). */
  url: string;
  port: number;
  /** PID of the code-server main process; also its process group and session id (setsid). */
  pid: number;
  workspace: string;
  /** Temp dir holding user-data/, extensions/, config/ (XDG_CONFIG_HOME) and code-server.log. */
  dir: string;
  userDataDir: string;
  extensionsDir: string;
  logFile: string;
  /** Environment marker every process of this instance carries (HANGAR_UI_INSTANCE=<dir>). */
  marker: string;
  /** The URL opening another folder: /?folder=<abs path>. */
  folderUrl(folder: string): string;
  /** code-server's stdout+stderr so far. */
  log(): string;
  /** PIDs of this instance's live processes (the group, descendants, marked processes). */
  processes(): number[];
  /** SIGTERM to every process of the instance, SIGKILL after 5 s; resolves when none is left. */
  stop(): Promise<void>;
}

export async function startCodeServer(opts: CodeServerOptions): Promise<CodeServer> {
  if (!fs.existsSync(CODE_SERVER_BIN)) {
    throw new Error(`code-server is not installed at ${CODE_SERVER_BIN}: run 'bash test/setup/code-server.sh'`);
  }
  const workspace = path.resolve(opts.workspace);
  if (!fs.statSync(workspace).isDirectory()) throw new Error(`workspace ${workspace} is not a directory`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hangar-code-server-'));
  const userDataDir = path.join(dir, 'user-data');
  const extensionsDir = path.join(dir, 'extensions');
  const configDir = path.join(dir, 'config');
  const logFile = path.join(dir, 'code-server.log');
  const marker = `HANGAR_UI_INSTANCE=${dir}`;
  for (const d of [path.join(userDataDir, 'User'), extensionsDir, configDir]) fs.mkdirSync(d, { recursive: true });
  fs.writeFileSync(
    path.join(userDataDir, 'User', 'settings.json'),
    JSON.stringify({ ...DEFAULT_SETTINGS, ...opts.settings }, null, 2),
  );

  const env: NodeJS.ProcessEnv = {
    // EXTENSIONS_GALLERY={}: no extension gallery, so the workbench makes no open-vsx.org requests.
    ...baseEnv(),
    XDG_CONFIG_HOME: configDir,
    HANGAR_UI_INSTANCE: dir,
    EXTENSIONS_GALLERY: '{}',
    ...opts.env,
  };
  const dirArgs = ['--user-data-dir', userDataDir, '--extensions-dir', extensionsDir];

  const vsixes = opts.extensionVsix === undefined ? [] : ([] as string[]).concat(opts.extensionVsix);
  for (const vsix of vsixes) {
    const abs = path.resolve(vsix);
    if (!fs.existsSync(abs))
      throw new Error(`extension ${abs} does not exist (scripts/package-vsix.sh makes dist/hangar.vsix)`);
    const r = await execCodeServer([...dirArgs, '--force', '--install-extension', abs], env);
    if (r.code !== 0 || !/successfully installed/i.test(r.out)) {
      throw new Error(`code-server --install-extension ${abs} failed (exit ${r.code}):\n${r.out}`);
    }
  }

  const port = await freePort();
  const logFd = fs.openSync(logFile, 'a');
  const child = spawn(
    CODE_SERVER_BIN,
    [
      '--bind-addr',
      `127.0.0.1:${port}`,
      '--auth',
      'none',
      '--disable-telemetry',
      '--disable-update-check',
      '--disable-workspace-trust',
      '--disable-getting-started-override',
      '--ignore-last-opened',
      ...dirArgs,
      ...(opts.args ?? []),
      workspace,
    ],
    {
      env,
      cwd: workspace,
      detached: true /* setsid: its own session and process group */,
      stdio: ['ignore', logFd, logFd],
    },
  );
  fs.closeSync(logFd);
  const pid = child.pid;
  if (pid === undefined) throw new Error(`could not spawn ${CODE_SERVER_BIN}`);
  child.unref();
  const entry = { pid, marker };
  live.add(entry);
  let exited: number | string | null = null;
  child.once('exit', (code, sig) => {
    exited = code ?? sig;
  });

  const stop = async (): Promise<void> => {
    const procs = instanceProcs(pid, marker);
    try {
      process.kill(-pid, 'SIGTERM');
    } catch {
      /* group gone */
    }
    signal(
      procs.map((p) => p.pid),
      'SIGTERM',
    );
    const deadline = Date.now() + 5000;
    let left = procs;
    while ((left = [...left, ...instanceProcs(pid, marker)].filter(alive)).length > 0) {
      if (Date.now() > deadline) {
        try {
          process.kill(-pid, 'SIGKILL');
        } catch {
          /* group gone */
        }
        signal(
          left.map((p) => p.pid),
          'SIGKILL',
        );
      }
      if (Date.now() > deadline + 5000)
        throw new Error(`code-server processes survive SIGKILL: ${left.map((p) => `${p.pid} ${p.cmd}`).join('; ')}`);
      await sleep(100);
    }
    live.delete(entry);
    if (!KEEP) fs.rmSync(dir, { recursive: true, force: true });
  };

  const url = `http://127.0.0.1:${port}/`;
  const deadline = Date.now() + (opts.startTimeoutMs ?? 30_000);
  for (;;) {
    // /healthz answers once the HTTP server is up; the workbench page itself is then served at once.
    if ((await httpStatus(`${url}healthz`)) === 200) break;
    if (exited !== null || Date.now() > deadline) {
      const why = exited !== null ? `exited (${exited})` : `did not answer HTTP in ${opts.startTimeoutMs ?? 30_000} ms`;
      const log = tail(logFile);
      await stop().catch(() => undefined);
      throw new Error(`code-server ${why}; its output:\n${log}`);
    }
    await sleep(100);
  }

  return {
    url,
    port,
    pid,
    workspace,
    dir,
    userDataDir,
    extensionsDir,
    logFile,
    marker,
    folderUrl: (folder: string) => `${url}?folder=${encodeURIComponent(path.resolve(folder))}`,
    log: () => {
      try {
        return fs.readFileSync(logFile, 'utf8');
      } catch {
        return '';
      }
    },
    processes: () =>
      instanceProcs(pid, marker)
        .filter(alive)
        .map((p) => p.pid),
    stop,
  };
}

// ---------------------------------------------------------------------------------------------
// Browser

export interface Workbench {
  browser: Browser;
  context: BrowserContext;
  page: Page;
  /** Browser console messages and page errors so far (for failure messages). */
  console: string[];
  close(): Promise<void>;
}

export async function launchBrowser(): Promise<Browser> {
  if (!fs.existsSync(CHROMIUM))
    throw new Error(`${CHROMIUM} is missing: run 'bash test/setup/code-server.sh' (installs Debian's chromium)`);
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
}

/** Opens the workbench (a CodeServer, or any URL it serves) and waits until it is visible. */
export async function openWorkbench(
  target: CodeServer | string,
  opts: { timeoutMs?: number; viewport?: { width: number; height: number } } = {},
): Promise<Workbench> {
  const url = typeof target === 'string' ? target : target.url;
  const browser = await launchBrowser();
  try {
    const context = await browser.newContext({ viewport: opts.viewport ?? { width: 1440, height: 900 } });
    const page = await context.newPage();
    const log: string[] = [];
    page.on('console', (m) => log.push(`${m.type()}: ${m.text()}`));
    page.on('pageerror', (e) => log.push(`pageerror: ${e.message}`));
    await page.goto(url);
    await waitForWorkbench(page, opts.timeoutMs);
    return { browser, context, page, console: log, close: () => browser.close() };
  } catch (e) {
    await browser.close();
    throw e;
  }
}

export async function waitForWorkbench(page: Page, timeoutMs = 60_000): Promise<void> {
  await page.locator('.monaco-workbench').waitFor({ state: 'visible', timeout: timeoutMs });
  await page.locator('.part.activitybar').waitFor({ state: 'visible', timeout: timeoutMs });
  await page.locator('.part.statusbar').waitFor({ state: 'visible', timeout: timeoutMs });
}

// ---------------------------------------------------------------------------------------------
// Workbench helpers

/** printf-style formatting as the browser console does it: %s/%d/%i/%f/%o/%O/%j substituted, %c styles
 * dropped, remaining values appended. */
export function formatLogArgs(vals: unknown[]): string {
  const str = (v: unknown) => (typeof v === 'string' ? v : (JSON.stringify(v) ?? String(v)));
  if (vals.length === 0) return '';
  let i = 1;
  let out = '';
  if (typeof vals[0] === 'string') {
    out = vals[0].replace(/%([csdifoOj%])/g, (all, k: string) => {
      if (k === '%') return '%';
      if (i >= vals.length) return all;
      const v = vals[i++];
      return k === 'c' ? '' : str(v);
    });
  } else {
    i = 0;
  }
  return [out, ...vals.slice(i).map(str)].filter((x) => x !== '').join(' ');
}

/** A browser console message as the console shows it (see formatLogArgs). */
export async function formatConsoleMessage(m: ConsoleMessage): Promise<string> {
  const vals: unknown[] = await Promise.all(m.args().map((a) => a.jsonValue().catch(() => a.toString())));
  return vals.length ? formatLogArgs(vals) : m.text();
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function exact(text: string | RegExp): RegExp {
  return typeof text === 'string' ? new RegExp(`^\\s*${escapeRe(text)}\\s*$`) : text;
}

export function quickInput(page: Page): Locator {
  return page.locator('.quick-input-widget');
}

/** Rows of the open quick pick whose label is `label` (exact string, or a RegExp). */
export function quickPickItem(page: Page, label: string | RegExp): Locator {
  return page
    .locator('.quick-input-widget .quick-input-list .monaco-list-row')
    .filter({ has: page.locator('.label-name', { hasText: exact(label) }) });
}

/** Runs a command by its palette title ("Category: Title", as the palette shows it) through F1. Retries
 * until `timeoutMs`: right after start-up the palette may not list an extension's commands yet. */
export async function runCommand(page: Page, title: string, opts: { timeoutMs?: number } = {}): Promise<void> {
  const timeout = opts.timeoutMs ?? 15_000;
  const deadline = Date.now() + timeout;
  const item = quickPickItem(page, title).first();
  for (;;) {
    const input = await openCommandPalette(page);
    await input.fill(`>${title}`);
    try {
      await item.waitFor({ state: 'visible', timeout: Math.max(1000, Math.min(3000, deadline - Date.now())) });
      break;
    } catch {
      const shown = await page
        .locator('.quick-input-widget .quick-input-list .monaco-list-row .label-name')
        .allTextContents();
      await page.keyboard.press('Escape');
      if (Date.now() >= deadline)
        throw new Error(`command '${title}' is not in the palette; it shows: ${JSON.stringify(shown.slice(0, 15))}`);
      await quickInput(page)
        .waitFor({ state: 'hidden', timeout: 2000 })
        .catch(() => undefined);
    }
  }
  await item.click();
  // The palette closes, or the command's own quick pick/input box replaces it.
  await page
    .waitForFunction(
      () => {
        const w = document.querySelector<HTMLElement>('.quick-input-widget');
        const input = w?.querySelector<HTMLInputElement>('.quick-input-box input');
        return !w || w.style.display === 'none' || !w.offsetParent || !input?.value.startsWith('>');
      },
      undefined,
      { timeout },
    )
    .catch(() => undefined);
}

/** F1; resolves when the palette's input is visible and focused. */
export async function openCommandPalette(page: Page): Promise<Locator> {
  const input = page.locator('.quick-input-widget .quick-input-box input');
  for (let attempt = 0; ; attempt++) {
    await page.keyboard.press('F1');
    try {
      await input.waitFor({ state: 'visible', timeout: 5000 });
      return input;
    } catch (e) {
      // The first key press can land before the workbench has keyboard focus.
      if (attempt >= 2) throw e;
      await page
        .locator('.part.statusbar')
        .click({ position: { x: 2, y: 2 } })
        .catch(() => undefined);
    }
  }
}

/** Clicks the activity-bar entry whose title starts with `title` (e.g. 'Explorer', 'Hangar') and waits
 * for its view container in the side bar. Does not toggle the side bar closed when already shown. */
export async function clickActivityBar(page: Page, title: string): Promise<void> {
  const item = page.locator(`.part.activitybar .action-item a[aria-label^="${title.replace(/"/g, '\\"')}"]`).first();
  await item.waitFor({ state: 'visible', timeout: 15_000 });
  const li = item.locator('xpath=..');
  const checked = /\bchecked\b/.test((await li.getAttribute('class')) ?? '');
  if (!(checked && (await page.locator('.part.sidebar').isVisible()))) await item.click();
  await page.locator('.part.sidebar').waitFor({ state: 'visible', timeout: 15_000 });
  await page
    .locator('.part.sidebar .composite.title')
    .filter({ hasText: new RegExp(escapeRe(title), 'i') })
    .waitFor({ state: 'visible', timeout: 15_000 });
}

/** Saves a PNG of the page as test-results/screenshots/<name>.png; returns its path. */
export async function screenshot(page: Page, name: string, opts: { settleMs?: number } = {}): Promise<string> {
  fs.mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const file = path.join(SCREENSHOT_DIR, `${name.replace(/[^\w.-]+/g, '-')}.png`);
  if (opts.settleMs ?? 300) await sleep(opts.settleMs ?? 300);
  await page.screenshot({ path: file });
  return file;
}

/** The notification toast showing `text` (substring or RegExp), once it has faded in. */
export async function waitForNotification(
  page: Page,
  text: string | RegExp,
  opts: { timeoutMs?: number } = {},
): Promise<Locator> {
  const toast = page.locator('.notifications-toasts .notification-toast-container').filter({ hasText: text }).first();
  await toast.waitFor({ state: 'visible', timeout: opts.timeoutMs ?? 15_000 });
  // VS Code marks a toast notification-fade-in-done when its fade-in transition ends.
  await toast
    .locator('.notification-toast.notification-fade-in-done')
    .waitFor({ timeout: 3000 })
    .catch(() => sleep(1000));
  return toast;
}

/** Clicks a button (e.g. 'Retry') on the notification showing `text`. */
export async function clickNotificationButton(page: Page, text: string | RegExp, button: string): Promise<void> {
  const toast = await waitForNotification(page, text);
  await toast
    .locator('.monaco-button', { hasText: exact(button) })
    .first()
    .click();
}

/** The modal dialog (showWarningMessage(…, { modal: true })) whose message or detail shows `text`. */
export async function waitForDialog(
  page: Page,
  text: string | RegExp,
  opts: { timeoutMs?: number } = {},
): Promise<Locator> {
  const dialog = page.locator('.monaco-dialog-box').filter({ hasText: text }).first();
  await dialog.waitFor({ state: 'visible', timeout: opts.timeoutMs ?? 15_000 });
  return dialog;
}

/** Clicks a button of the modal dialog showing `text`. */
export async function clickDialogButton(page: Page, text: string | RegExp, button: string): Promise<void> {
  const dialog = await waitForDialog(page, text);
  await dialog
    .locator('.dialog-buttons .monaco-button', { hasText: exact(button) })
    .first()
    .click();
}

/** A tree/list row (custom views, Explorer) whose label is `label` (exact string or RegExp). */
export function treeItem(page: Page, label: string | RegExp, within?: Locator): Locator {
  return (within ?? page.locator('.monaco-workbench'))
    .locator('.monaco-list-row')
    .filter({ has: page.locator('.label-name', { hasText: exact(label) }) })
    .first();
}

/** Right-clicks the tree item `itemLabel` and picks `actionLabel` from its context menu. */
export async function contextMenu(
  page: Page,
  itemLabel: string | RegExp,
  actionLabel: string | RegExp,
  within?: Locator,
): Promise<void> {
  const item = treeItem(page, itemLabel, within);
  await item.waitFor({ state: 'visible', timeout: 15_000 });
  await item.click({ button: 'right' });
  // The menu is HTML in a (open) shadow root; Playwright's CSS engine pierces it.
  const menu = page.locator('.context-view .monaco-menu').first();
  await menu.waitFor({ state: 'visible', timeout: 10_000 });
  const action = menu.locator('.action-item:not(.disabled) .action-label', { hasText: exact(actionLabel) }).first();
  try {
    await action.waitFor({ state: 'visible', timeout: 5000 });
  } catch {
    const shown = await menu.locator('.action-label').allTextContents();
    await page.keyboard.press('Escape');
    throw new Error(
      `context menu of '${itemLabel}' has no enabled '${actionLabel}'; it shows ${JSON.stringify(shown.filter(Boolean))}`,
    );
  }
  // A plain click right after the menu opened is sometimes swallowed by the menu; hover focuses the
  // entry and Enter runs it.
  await action.hover();
  await page.keyboard.press('Enter');
  await menu.waitFor({ state: 'hidden', timeout: 5000 });
}

/** Picks `label` in the open quick pick (showQuickPick, palette sub-menus). Types `filter` first when given. */
export async function quickPickSelect(
  page: Page,
  label: string | RegExp,
  opts: { filter?: string; timeoutMs?: number } = {},
): Promise<void> {
  const timeout = opts.timeoutMs ?? 15_000;
  await quickInput(page).waitFor({ state: 'visible', timeout });
  if (opts.filter !== undefined) await page.locator('.quick-input-widget .quick-input-box input').fill(opts.filter);
  const item = quickPickItem(page, label).first();
  try {
    await item.waitFor({ state: 'visible', timeout });
  } catch {
    const shown = await page
      .locator('.quick-input-widget .quick-input-list .monaco-list-row .label-name')
      .allTextContents();
    throw new Error(`quick pick has no '${label}'; it shows ${JSON.stringify(shown.slice(0, 20))}`);
  }
  await item.click();
}

/** Types into the open input box / quick pick (showInputBox) and, unless submit is false, presses Enter. */
export async function quickInputType(
  page: Page,
  text: string,
  opts: { submit?: boolean; timeoutMs?: number } = {},
): Promise<void> {
  const input = page.locator('.quick-input-widget .quick-input-box input');
  await input.waitFor({ state: 'visible', timeout: opts.timeoutMs ?? 15_000 });
  await input.fill(text);
  if (opts.submit ?? true) await input.press('Enter');
}

/** The validation message the open input box shows (empty when none). */
export async function quickInputMessage(page: Page): Promise<string> {
  return (
    (await page
      .locator('.quick-input-widget .quick-input-message')
      .textContent()
      .catch(() => '')) ?? ''
  ).trim();
}

// ---------------------------------------------------------------------------------------------
// Packaging

/** The @vscode/vsce release used when the repository has none installed (as in scripts/package-vsix.sh). */
export const VSCE_VERSION = '3.9.2';

/** Packages the extension in `dir` as a .vsix (`vsce package --no-dependencies`, offline) and returns its path.
 * For test fixtures; the Hangar extension itself is packaged by scripts/package-vsix.sh. */
export async function packageVsix(dir: string, out: string): Promise<string> {
  const local = path.join(REPO_ROOT, 'node_modules', '.bin', 'vsce');
  const [cmd, pre] = process.env.HANGAR_VSCE
    ? [process.env.HANGAR_VSCE, []]
    : fs.existsSync(local)
      ? [local, []]
      : ['npx', ['--yes', `@vscode/vsce@${VSCE_VERSION}`]];
  fs.mkdirSync(path.dirname(path.resolve(out)), { recursive: true });
  await new Promise<void>((resolve, reject) => {
    const child = execFile(
      cmd,
      [...pre, 'package', '--no-dependencies', '--allow-missing-repository', '--skip-license', '-o', path.resolve(out)],
      { cwd: dir, timeout: 120_000, maxBuffer: 16 << 20 },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`vsce package in ${dir} failed: ${err.message}\n${stdout}${stderr}`));
        else resolve();
      },
    );
    child.stdin?.end();
  });
  return path.resolve(out);
}

// ---------------------------------------------------------------------------------------------
// Integration suites in the extension host

export interface ExtensionTestsOptions {
  /** Folder with the extension's package.json (its `main` must be built). */
  extensionDevelopmentPath: string;
  /** A JS module exporting `run(): Promise<void>` (e.g. a bundled mocha runner), as for @vscode/test-electron. */
  extensionTestsPath: string;
  /** Environment for the extension host (extensionEnvironment) and code-server. */
  env?: Record<string, string>;
  /** Folder to open (default: an empty temp dir). */
  workspace?: string;
  settings?: Record<string, unknown>;
  /** Other extensions to install first. */
  extensionVsix?: string | string[];
  /** Whole run (default 5 min). */
  timeoutMs?: number;
}

/** Workbench log lines that say nothing about the suite. */
const NOISE =
  /^(Ignoring fetching additional builtin extensions from gallery|Canceled: Canceled|\[AccountPolicyGate\]|\[reconnection-grace-time\])/;

export interface ExtensionTestsResult {
  /** What the extension host exited with: 0 when run() resolved. */
  code: number;
  /** In order: the workbench's log lines with the extension host's console output (the suite's reporter)
   * among them, printf-formatted ("[error] ..." for errors), then the log files the workbench hands over. */
  log: string;
}

/** Runs an integration suite inside code-server (code-server rejects --extensionDevelopmentPath, so
 * the smoke-test driver's payload carries it). Resolves with the exit code; rejects only when the
 * suite could not be started or did not finish in time. */
export async function runExtensionTests(opts: ExtensionTestsOptions): Promise<ExtensionTestsResult> {
  const devPath = path.resolve(opts.extensionDevelopmentPath);
  const testsPath = path.resolve(opts.extensionTestsPath);
  if (!fs.existsSync(path.join(devPath, 'package.json'))) throw new Error(`${devPath} has no package.json`);
  if (!fs.existsSync(testsPath) && !fs.existsSync(`${testsPath}.js`)) throw new Error(`${testsPath} does not exist`);
  const ownWorkspace = opts.workspace === undefined;
  const workspace = opts.workspace ?? fs.mkdtempSync(path.join(os.tmpdir(), 'hangar-ext-tests-ws-'));
  const lines: string[] = [];
  const cs = await startCodeServer({
    workspace,
    settings: opts.settings,
    env: opts.env,
    extensionVsix: opts.extensionVsix,
    args: ['--vscode-option', 'enable-smoke-test-driver'],
  });
  let browser: Browser | undefined;
  try {
    browser = await launchBrowser();
    const page = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
    const remote = (p: string) => `vscode-remote://127.0.0.1:${cs.port}${p}`;
    let exited: (code: number) => void = () => undefined;
    const done = new Promise<number>((resolve) => {
      exited = resolve;
    });
    // Everything the workbench logs, the extension host's console (the suite's reporter) included, arrives
    // here as [format, ...args]; the browser console only repeats it.
    await page.exposeFunction('codeAutomationLog', (level: string, message: unknown) => {
      const text = Array.isArray(message) ? formatLogArgs(message) : String(message);
      if (!NOISE.test(text)) lines.push(level === 'info' ? text : `[${level}] ${text}`);
    });
    await page.exposeFunction(
      'codeAutomationExit',
      (code: number, logs?: Array<{ relativePath: string; contents: string }>) => {
        // window.log repeats what came through codeAutomationLog.
        for (const l of logs ?? []) {
          if (l.contents.trim() && !/(^|\/)window\.log$/.test(l.relativePath))
            lines.push(`---- log file ${l.relativePath} ----`, l.contents.trimEnd());
        }
        exited(Number(code));
      },
    );
    page.on('pageerror', (e) => lines.push(`[pageerror] ${e.message}`));
    const payload = JSON.stringify([
      ['extensionDevelopmentPath', remote(devPath)],
      ['extensionTestsPath', remote(testsPath)],
      ['extensionEnvironment', JSON.stringify(opts.env ?? {})],
    ]);
    await page.goto(
      `${cs.url}?folder=${encodeURIComponent(path.resolve(workspace))}&payload=${encodeURIComponent(payload)}`,
    );
    const timeoutMs = opts.timeoutMs ?? 300_000;
    let timer: NodeJS.Timeout | undefined;
    const code = await Promise.race([
      done,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () =>
            reject(
              new Error(
                `extension tests did not finish in ${timeoutMs} ms; log:\n` +
                  `${lines.slice(-60).join('\n')}\n---- code-server ----\n${tail(cs.logFile)}`,
              ),
            ),
          timeoutMs,
        );
      }),
    ]).finally(() => clearTimeout(timer));
    return { code, log: lines.join('\n') };
  } finally {
    await browser?.close().catch(() => undefined);
    await cs.stop();
    if (ownWorkspace) fs.rmSync(workspace, { recursive: true, force: true });
  }
}

/** The end of a UI suite: the browser, code-server, then every env the test daemon still has, then the daemon. */
export async function closeUiTest(
  wb: Workbench | undefined,
  cs: CodeServer | undefined,
  d: { admin: HangarClient; close(): Promise<void> } | undefined,
): Promise<void> {
  await wb?.close();
  await cs?.stop();
  for (const e of (await d?.admin.listEnvironments().catch(() => [])) ?? [])
    await d!.admin.deleteEnvironment(e.id).catch(() => undefined);
  await d?.close();
}

/** "Hangar: Connect to Gateway…" from the palette: the URL, then the token (the two steps of its quick input). */
export async function connectGateway(page: Page, url: string, token: string): Promise<void> {
  await runCommand(page, 'Hangar: Connect to Gateway…');
  const title = (t: string) =>
    page.locator('.quick-input-widget .quick-input-title').filter({ hasText: t }).waitFor({ timeout: 15_000 });
  await title('(1/2)');
  await quickInputType(page, url);
  await title('(2/2)');
  await quickInputType(page, token);
}
