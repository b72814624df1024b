// The Hangar-managed block in the user's SSH config file: render it, merge it into the file without touching the
// user's own lines, find user settings that would override it, and write the file safely (atomic, locked).
// Pure logic plus an injectable fs: no `vscode` import; the extension's attach and `hangar ssh-config` share it.
//
// Placement: a new block is appended at the end of the file, after one blank line of its own (none when the file is
// empty); an existing block is replaced where it is. Removing a block also takes back that one blank line when the
// block is last in the file or followed by a blank line, so insert-then-remove gives the original bytes back.
// ssh uses the FIRST value it finds for each option, so user settings above the block for matching hosts win:
// `findOverrides` reports them. Include lines are not followed (the function is pure and Include's path rules are
// ssh's own); an Include that applies to our hosts and comes before the block gets one "not checked" warning.
import { randomBytes } from 'node:crypto';
import * as nodeFs from 'node:fs/promises';
import path from 'node:path';
import { ALIAS_PREFIX, gatewaySlug } from './names';

/** The login user of the wildcard Host block (envs with another user get their own Host block). */
export const DEFAULT_USER = 'hangar';

export type SshConfigErrorCode = 'markers' | 'block' | 'input' | 'locked';

/** A problem with the config file's Hangar markers, the block given, render inputs, or the lock. */
export class SshConfigError extends Error {
  override readonly name = 'SshConfigError';
  /**
   * @param detail what is wrong, without the file name
   * @param lines 1-based line numbers of the file involved (markers)
   */
  constructor(
    readonly detail: string,
    readonly code: SshConfigErrorCode,
    readonly lines: number[] = [],
    readonly file?: string,
  ) {
    super(file ? `${file}: ${detail}` : detail);
  }
  /** The same error with the file named (mergeBlock only sees content). */
  withFile(file: string): SshConfigError {
    return new SshConfigError(this.detail, this.code, this.lines, file);
  }
}

// ---------- markers ----------

export function startMarker(slug: string): string {
  return `# --- START HANGAR ${slug} ---`;
}
export function endMarker(slug: string): string {
  return `# --- END HANGAR ${slug} ---`;
}

const MARKER_RE = /^[ \t]*# --- (START|END) HANGAR (\S+) ---[ \t]*$/;
const MANAGED_RE =
  /^[ \t]*# Managed by the Hangar extension for (.+): changes inside this block are overwritten\.[ \t]*$/;

/** A marker line (without its line end), or null for any other line. */
export function parseMarker(line: string): { kind: 'start' | 'end'; slug: string } | null {
  const m = MARKER_RE.exec(line);
  return m ? { kind: m[1] === 'START' ? 'start' : 'end', slug: m[2] } : null;
}

/** The `Host` pattern that covers every env of a gateway. */
export function gatewayHostPattern(gatewayUrl: string): string {
  return `${ALIAS_PREFIX}${gatewaySlug(gatewayUrl)}--*`;
}

export interface ManagedBlock {
  slug: string;
  /** From the block's "Managed by" comment, when it is there. */
  gatewayUrl?: string;
  /** 1-based line numbers of the START and END markers. */
  startLine: number;
  endLine: number;
}

interface Line {
  text: string;
  eol: '' | '\n' | '\r\n';
}

/** Lines with their own terminators: joining text+eol gives the content back byte for byte. */
function splitLines(content: string): Line[] {
  const out: Line[] = [];
  let i = 0;
  while (i < content.length) {
    const j = content.indexOf('\n', i);
    if (j < 0) {
      out.push({ text: content.slice(i), eol: '' });
      break;
    }
    const crlf = j > i && content[j - 1] === '\r';
    out.push({ text: content.slice(i, crlf ? j - 1 : j), eol: crlf ? '\r\n' : '\n' });
    i = j + 1;
  }
  return out;
}

const joinLines = (lines: Line[]) => lines.map((l) => l.text + l.eol).join('');
const isBlank = (text: string) => /^[ \t]*$/.test(text);

/** The file's line end: CRLF when most lines use it, else LF (also for an empty file). */
function detectEol(lines: Line[]): '\n' | '\r\n' {
  let crlf = 0;
  let lf = 0;
  for (const l of lines) {
    if (l.eol === '\r\n') crlf++;
    else if (l.eol === '\n') lf++;
  }
  return crlf > lf ? '\r\n' : '\n';
}

/** Every Hangar block, checked: throws SshConfigError if markers don't pair up (any gateway's, 1-based lines). */
function parseBlocks(lines: Line[]): ManagedBlock[] {
  const blocks: ManagedBlock[] = [];
  const seen = new Map<string, number>();
  let open: { slug: string; line: number } | null = null;
  const bad = (msg: string, ls: number[]) =>
    new SshConfigError(`Hangar block markers don't pair up: ${msg}. Fix or remove these lines by hand.`, 'markers', ls);
  for (let i = 0; i < lines.length; i++) {
    const m = parseMarker(lines[i].text);
    if (!m) continue;
    const n = i + 1;
    if (m.kind === 'start') {
      if (open) {
        throw open.slug === m.slug
          ? bad(`line ${n} starts a second block for ${m.slug} inside the one started at line ${open.line}`, [
              open.line,
              n,
            ])
          : bad(
              `line ${n} starts a block for ${m.slug} inside the block for ${open.slug} started at line ${open.line} (nested blocks)`,
              [open.line, n],
            );
      }
      const prev = seen.get(m.slug);
      if (prev !== undefined) throw bad(`two blocks for ${m.slug} (START at lines ${prev} and ${n})`, [prev, n]);
      seen.set(m.slug, n);
      open = { slug: m.slug, line: n };
    } else {
      if (!open) throw bad(`line ${n} ends a block for ${m.slug} that was never started`, [n]);
      if (open.slug !== m.slug)
        throw bad(
          `line ${n} ends a block for ${m.slug}, but the block open since line ${open.line} is for ${open.slug}`,
          [open.line, n],
        );
      const url = lines
        .slice(open.line, i)
        .map((x) => MANAGED_RE.exec(x.text)?.[1])
        .find(Boolean);
      blocks.push({ slug: m.slug, ...(url ? { gatewayUrl: url } : {}), startLine: open.line, endLine: n });
      open = null;
    }
  }
  if (open) throw bad(`line ${open.line} starts a block for ${open.slug} that never ends`, [open.line]);
  return blocks;
}

/** The gateways that have a block in this content, in file order. Throws SshConfigError on broken markers. */
export function listManagedGateways(content: string): ManagedBlock[] {
  return parseBlocks(splitLines(content));
}

// ---------- rendering ----------

export interface RenderOptions {
  gatewayUrl: string;
  /** How ssh runs the Hangar CLI, as a shell command (see shellCommand); `proxy --url … %n` is appended. */
  proxyCommand: string;
  knownHostsFile: string;
  identityFile?: string;
  /** Login user of the wildcard block (default "hangar"). */
  user?: string;
  /** Envs whose login user differs: each gets `Host <alias>` + `User <user>` before the wildcard (first value wins). */
  envs?: { alias: string; user: string }[];
  /** use_jumpserver envs: their alias goes to KoKo (HostName/Port/User jmsuser@account@asset, no ProxyCommand). */
  jumpserver?: { alias: string; host: string; port: number; user: string }[];
}

const KOKO_USER_RE = /^[A-Za-z0-9_.#-]+(@[A-Za-z0-9_.$#-]+){2,3}$/;
const KOKO_HOST_RE = /^[A-Za-z0-9.:_-]+$/;

/** Host entries that send JumpServer envs through KoKo; they come before the wildcard, so their values win. */
function kokoLines(prefix: string, list: RenderOptions['jumpserver']): string[] {
  return [...(list ?? [])]
    .sort((a, b) => (a.alias < b.alias ? -1 : a.alias > b.alias ? 1 : 0))
    .flatMap((j) => {
      if (!j.alias.startsWith(prefix) || !/^[a-z0-9.-]+$/.test(j.alias.slice(prefix.length)))
        throw new SshConfigError(`env alias ${JSON.stringify(j.alias)} is not of the form ${prefix}<env>`, 'input');
      if (!KOKO_USER_RE.test(j.user)) throw new SshConfigError(`not a KoKo login: ${JSON.stringify(j.user)}`, 'input');
      if (!KOKO_HOST_RE.test(j.host) || !Number.isInteger(j.port) || j.port < 1 || j.port > 65535)
        throw new SshConfigError(`not a KoKo address: ${JSON.stringify(`${j.host}:${j.port}`)}`, 'input');
      return [
        `Host ${j.alias}`,
        `  HostName ${j.host}`,
        `  Port ${j.port}`,
        `  User ${j.user}`,
        '  ProxyCommand none',
        // KoKo's host key: learnt on first use under a name of its own (the env's pinned key is the env's, not KoKo's).
        `  HostKeyAlias hangar-koko-${j.host.replace(/:/g, '_')}-${j.port}`,
        '  StrictHostKeyChecking accept-new',
      ];
    });
}

// eslint-disable-next-line no-control-regex -- control characters are exactly what this refuses
const CONTROL = /[\x00-\x1f\x7f]/;
const SAFE_SHELL = /^[A-Za-z0-9_@%+=:,./-]+$/;

/** One shell word: bare when safe, else double quotes (sh and cmd.exe both read them), else POSIX single quotes. */
export function shellArg(s: string): string {
  if (s !== '' && SAFE_SHELL.test(s)) return s;
  if (!/["$`\\!]/.test(s)) return `"${s}"`;
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** A ProxyCommand prefix from argv, e.g. shellCommand([process.execPath, '/ext/dist/hangar.js']). */
export function shellCommand(argv: string[]): string {
  return argv.map(shellArg).join(' ');
}

/** ssh expands %-tokens in ProxyCommand, IdentityFile and UserKnownHostsFile: a literal % must be %%. */
const escapeTokens = (s: string) => s.replace(/%/g, '%%');

function checkText(what: string, s: string): void {
  if (CONTROL.test(s)) throw new SshConfigError(`${what} must not contain control characters or line breaks`, 'input');
}

/** A file path as an ssh_config value: %% for %, double quotes when it has spaces; `"` can't be written. */
function pathValue(what: string, p: string): string {
  checkText(what, p);
  if (!p.trim()) throw new SshConfigError(`${what} is empty`, 'input');
  if (p.includes('"'))
    throw new SshConfigError(`${what} must not contain '"' (ssh_config can't quote it): ${p}`, 'input');
  const v = escapeTokens(p);
  return /\s/.test(v) ? `"${v}"` : v;
}

/** Options every Hangar connection uses: the managed block writes them, `hangar ssh` passes them with -o. */
export const CONNECTION_OPTIONS: readonly (readonly [string, string])[] = [
  ['StrictHostKeyChecking', 'yes'],
  ['ServerAliveInterval', '10'],
  ['ServerAliveCountMax', '3'],
  ['ConnectTimeout', '0'],
  ['LogLevel', 'ERROR'],
];

const USER_RE = /^[A-Za-z0-9_][A-Za-z0-9_.-]*\$?$/;

/** The managed block for one gateway; every line (the last too) ends with "\n". Throws SshConfigError on bad input. */
export function renderBlock(o: RenderOptions): string {
  checkText('gatewayUrl', o.gatewayUrl);
  let slug: string;
  try {
    slug = gatewaySlug(o.gatewayUrl);
  } catch {
    throw new SshConfigError(`gatewayUrl is not a URL: ${o.gatewayUrl}`, 'input');
  }
  if (!slug) throw new SshConfigError(`gatewayUrl has no host: ${o.gatewayUrl}`, 'input');
  checkText('proxyCommand', o.proxyCommand);
  if (!o.proxyCommand.trim()) throw new SshConfigError('proxyCommand is empty', 'input');
  const user = o.user ?? DEFAULT_USER;
  const checkUser = (u: string) => {
    if (!USER_RE.test(u)) throw new SshConfigError(`not a valid login user name: ${JSON.stringify(u)}`, 'input');
  };
  checkUser(user);

  const prefix = `${ALIAS_PREFIX}${slug}--`;
  const envs = new Map<string, string>();
  for (const e of o.envs ?? []) {
    // An alias outside the wildcard would get User but no ProxyCommand: refuse it rather than write a broken block.
    if (!e.alias.startsWith(prefix) || !/^[a-z0-9.-]+$/.test(e.alias.slice(prefix.length)) || e.alias === prefix) {
      throw new SshConfigError(`env alias ${JSON.stringify(e.alias)} is not of the form ${prefix}<env>`, 'input');
    }
    checkUser(e.user);
    const had = envs.get(e.alias);
    if (had !== undefined && had !== e.user)
      throw new SshConfigError(`env alias ${e.alias} given twice with different users`, 'input');
    envs.set(e.alias, e.user);
  }

  const lines = [
    startMarker(slug),
    `# Managed by the Hangar extension for ${o.gatewayUrl}: changes inside this block are overwritten.`,
    // Sorted so the same envs always render the same bytes (no rewrite when only their order changed).
    ...kokoLines(prefix, o.jumpserver),
    ...[...envs]
      .filter(([alias]) => !o.jumpserver?.some((j) => j.alias === alias))
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .flatMap(([alias, u]) => [`Host ${alias}`, `  User ${u}`]),
    `Host ${prefix}*`,
    `  ProxyCommand ${escapeTokens(o.proxyCommand)} proxy --url ${escapeTokens(shellArg(o.gatewayUrl))} %n`,
    `  User ${user}`,
    `  UserKnownHostsFile ${pathValue('knownHostsFile', o.knownHostsFile)}`,
    ...CONNECTION_OPTIONS.map(([k, v]) => `  ${k} ${v}`),
    ...(o.identityFile !== undefined ? [`  IdentityFile ${pathValue('identityFile', o.identityFile)}`] : []),
    endMarker(slug),
  ];
  return lines.join('\n') + '\n';
}

// ---------- merging ----------

/** The block's lines (no line ends), checked to be exactly one block for `slug`. */
function blockLines(block: string, slug: string): string[] {
  const lines = block.split(/\r?\n/);
  if (lines.length > 1 && lines[lines.length - 1] === '') lines.pop();
  const inner = lines.slice(1, -1).findIndex((l) => parseMarker(l));
  if (lines.length < 2 || lines[0] !== startMarker(slug) || lines[lines.length - 1] !== endMarker(slug) || inner >= 0) {
    throw new SshConfigError(
      `the block to write must start with "${startMarker(slug)}", end with "${endMarker(slug)}" and hold no other markers`,
      'block',
    );
  }
  return lines;
}

/**
 * `content` with the gateway's block inserted (appended at the end), replaced in place, or removed (`block` null).
 * The user's lines keep every byte and their order; the block takes the file's line end (CRLF or LF). Only a missing
 * final line end is added before appending. Throws SshConfigError (code 'markers') when the file's markers don't pair
 * up, and (code 'block') when `block` isn't one well-formed block for this gateway.
 */
export function mergeBlock(content: string, gatewayUrl: string, block: string | null): string {
  const slug = gatewaySlug(gatewayUrl);
  const lines = splitLines(content);
  const existing = parseBlocks(lines).find((b) => b.slug === slug);
  const eol = detectEol(lines);
  const mine = block === null ? null : blockLines(block, slug).map((text): Line => ({ text, eol }));

  if (existing) {
    const s = existing.startLine - 1; // 0-based index of START
    const e = existing.endLine - 1;
    if (mine) return joinLines([...lines.slice(0, s), ...mine, ...lines.slice(e + 1)]);
    // Take back the blank line we put before the block, unless that would glue user lines together.
    const after = lines[e + 1];
    const dropBlank = s > 0 && isBlank(lines[s - 1].text) && (!after || isBlank(after.text));
    return joinLines([...lines.slice(0, dropBlank ? s - 1 : s), ...lines.slice(e + 1)]);
  }
  if (!mine) return content;
  if (lines.length === 0) return joinLines(mine);
  const last = lines[lines.length - 1];
  // The user's last line gets its line end (else our START marker would join it), then one blank line of ours.
  const head = last.eol === '' ? [...lines.slice(0, -1), { text: last.text, eol }] : lines;
  return joinLines([...head, { text: '', eol }, ...mine]);
}

// ---------- overrides ----------

type Reach = 'all' | 'some' | 'none';
/** The host(s) asked about: one alias, or every alias that starts with a prefix (the gateway wildcard). */
type Target = { exact: string } | { prefix: string };

/**
 * ssh's wildcard match (`*` any run, `?` one character); `fold` for Match's case-insensitive lists (Host patterns
 * are case-sensitive in ssh). For a prefix target (the rest being an env name): 'all' when every such host matches,
 * 'some' when some may, 'none' when none can.
 */
function globReach(pattern: string, t: Target, fold: boolean): Reach {
  const p = fold ? pattern.toLowerCase() : pattern;
  const close = (set: Set<number>) => {
    for (const i of [...set]) for (let j = i; j < p.length && p[j] === '*'; j++) set.add(j + 1);
    return set;
  };
  let states = close(new Set([0]));
  const host = 'exact' in t ? t.exact : t.prefix;
  for (const ch of fold ? host.toLowerCase() : host) {
    const next = new Set<number>();
    for (const i of states) {
      if (i >= p.length) continue;
      if (p[i] === '*') next.add(i);
      else if (p[i] === '?' || p[i] === ch) next.add(i + 1);
    }
    states = close(next);
    if (states.size === 0) return 'none';
  }
  if ('exact' in t) return states.has(p.length) ? 'all' : 'none';
  if ([...states].some((i) => /^\**$/.test(p.slice(i)))) return 'all';
  // The rest is an env name (a DNS label): a pattern needing another character there (`*.corp`) can't match.
  return [...states].some((i) => /^[a-z0-9*?-]*$/.test(p.slice(i))) ? 'some' : 'none';
}

/** A list of patterns, each maybe `!negated` (a matching negation excludes the host, as in ssh). */
function listReach(patterns: string[], t: Target, fold: boolean): Reach {
  let best: Reach = 'none';
  let negSome = false;
  for (const raw of patterns) {
    const neg = raw.startsWith('!');
    const r = globReach(neg ? raw.slice(1) : raw, t, fold);
    if (neg) {
      if (r === 'all') return 'none';
      if (r === 'some') negSome = true;
    } else if (r === 'all' || (r === 'some' && best === 'none')) best = r;
  }
  return best === 'all' && negSome ? 'some' : best;
}

/** `Match` criteria: host/originalhost are evaluated; all/final apply; anything ssh decides at run time may apply. */
function matchReach(args: string[], t: Target): Reach {
  const rs: Reach[] = [];
  for (let i = 0; i < args.length; i++) {
    const neg = args[i].startsWith('!');
    const name = (neg ? args[i].slice(1) : args[i]).toLowerCase();
    let r: Reach;
    if (name === 'all' || name === 'final') r = 'all';
    else if (name === 'canonical') r = 'some';
    else {
      const arg = args[++i] ?? '';
      r = name === 'host' || name === 'originalhost' ? listReach(arg.split(','), t, true) : 'some';
    }
    rs.push(neg ? (r === 'all' ? 'none' : r === 'none' ? 'all' : 'some') : r);
  }
  if (rs.length === 0 || rs.includes('none')) return 'none';
  return rs.every((r) => r === 'all') ? 'all' : 'some';
}

/** ssh_config's line split: `Keyword value` or `Keyword=value`, double/single quotes group, `#` starts a comment. */
function parseOption(text: string): { keyword: string; args: string[] } | null {
  const t = text.trim();
  if (!t || t.startsWith('#')) return null;
  const m = /^([^\s=]+)\s*(?:=\s*)?(.*)$/.exec(t);
  if (!m) return null;
  const args: string[] = [];
  const re = /"([^"]*)"|'([^']*)'|(\S+)/g;
  for (let a; (a = re.exec(m[2]));) {
    if (a[3]?.startsWith('#')) break;
    args.push(a[1] ?? a[2] ?? a[3]);
  }
  return { keyword: m[1].toLowerCase(), args };
}

/** Options where a user's earlier value beats ours (ssh keeps the first). HostKeyAlias/HostName break the pinning. */
const GUARDED: Record<string, string> = {
  proxycommand: 'ProxyCommand',
  proxyjump: 'ProxyJump',
  stricthostkeychecking: 'StrictHostKeyChecking',
  userknownhostsfile: 'UserKnownHostsFile',
  user: 'User',
  hostname: 'HostName',
  hostkeyalias: 'HostKeyAlias',
};

/**
 * Warnings for the user's own settings that come before the Hangar block and apply to `alias` (or, given the wildcard
 * `hangar.<slug>--*`, to any env of that gateway) — ssh takes the first value, so theirs would win. Checks top-level
 * options, `Host` and `Match` blocks (`Match all` applies; run-time criteria like exec/user count as "may apply").
 * Scans the whole content when the gateway has no block yet (the block would be appended). Never throws.
 */
export function findOverrides(content: string, alias: string): string[] {
  const target: Target = alias.endsWith('*') ? { prefix: alias.slice(0, -1) } : { exact: alias };
  const lines = splitLines(content);
  // Our block: the START whose slug the alias belongs to (longest, should one slug prefix another).
  let stop = lines.length;
  let bestLen = -1;
  lines.forEach((l, i) => {
    const m = parseMarker(l.text);
    if (
      m?.kind === 'start' &&
      alias.toLowerCase().startsWith(`${ALIAS_PREFIX}${m.slug}--`) &&
      m.slug.length > bestLen
    ) {
      stop = i;
      bestLen = m.slug.length;
    }
  });

  const warnings: string[] = [];
  let ctx: { header: string; line: number; reach: Reach } | null = null; // null: before any Host/Match (applies to all)
  for (let i = 0; i < stop; i++) {
    const opt = parseOption(lines[i].text);
    if (!opt) continue;
    const n = i + 1;
    if (opt.keyword === 'host' || opt.keyword === 'match') {
      ctx = {
        header: lines[i].text.trim(),
        line: n,
        reach: opt.keyword === 'host' ? listReach(opt.args, target, false) : matchReach(opt.args, target),
      };
      continue;
    }
    const reach = ctx ? ctx.reach : 'all';
    if (reach === 'none') continue;
    const where = ctx ? `in "${ctx.header}" (line ${ctx.line})` : 'before any Host line';
    const verb = reach === 'all' ? 'applies' : 'may apply';
    const text = lines[i].text.trim();
    if (opt.keyword === 'include') {
      warnings.push(
        `line ${n}: "${text}" ${where} ${verb} to ${alias} and comes before the Hangar block; the included files are not checked — a ProxyCommand, User, HostName, … they set for these hosts would win over Hangar's.`,
      );
    } else if (GUARDED[opt.keyword]) {
      warnings.push(
        `line ${n}: "${text}" ${where} ${verb} to ${alias} and comes before the Hangar block; ssh uses the first value it finds, so Hangar's ${GUARDED[opt.keyword]} would be ignored.`,
      );
    }
  }
  return warnings;
}

// ---------- writing ----------

/** The parts of node:fs/promises that writeManagedBlock uses (inject a fake to test failures). */
export interface SshConfigFs {
  readFile(path: string): Promise<Uint8Array>;
  writeFile(path: string, data: Uint8Array, options: { mode: number; flag: string }): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  unlink(path: string): Promise<void>;
  mkdir(path: string, options: { recursive: true; mode: number }): Promise<string | undefined>;
  stat(path: string): Promise<{ mode: number; mtimeMs: number }>;
  lstat(path: string): Promise<{ isSymbolicLink(): boolean }>;
  readlink(path: string): Promise<string>;
  chmod(path: string, mode: number): Promise<void>;
}

export interface WriteOptions {
  fs?: SshConfigFs;
  /** How long to wait for another writer's lock (default 5 s). */
  lockTimeoutMs?: number;
  /** A lock older than this is a crashed writer's and is broken (default 30 s). */
  lockStaleMs?: number;
}

const errCode = (e: unknown) => (e as NodeJS.ErrnoException | undefined)?.code;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The file a (possibly dangling, possibly chained) symlink points at: we write there and keep the link. */
async function resolveTarget(fs: SshConfigFs, file: string): Promise<string> {
  let cur = path.resolve(file);
  for (let hops = 0; hops < 40; hops++) {
    try {
      if (!(await fs.lstat(cur)).isSymbolicLink()) return cur;
    } catch (e) {
      if (errCode(e) === 'ENOENT') return cur;
      throw e;
    }
    cur = path.resolve(path.dirname(cur), await fs.readlink(cur));
  }
  throw new SshConfigError('too many levels of symbolic links', 'input', [], file);
}

async function readOrEmpty(fs: SshConfigFs, file: string): Promise<Buffer> {
  try {
    return Buffer.from(await fs.readFile(file));
  } catch (e) {
    if (errCode(e) === 'ENOENT') return Buffer.alloc(0);
    throw e;
  }
}

/** Takes `<target>.hangar.lock` (O_EXCL), breaking a stale one; resolves to its release function. */
async function acquireLock(
  fs: SshConfigFs,
  lock: string,
  timeoutMs: number,
  staleMs: number,
): Promise<() => Promise<void>> {
  const token = `${process.pid} ${randomBytes(8).toString('hex')}`;
  const deadline = Date.now() + timeoutMs;
  for (let delay = 5; ; delay = Math.min(delay * 2, 100)) {
    try {
      await fs.writeFile(lock, Buffer.from(token), { mode: 0o600, flag: 'wx' });
      break;
    } catch (e) {
      if (errCode(e) !== 'EEXIST') throw e;
    }
    if (await breakStale(fs, lock, staleMs)) continue;
    if (Date.now() >= deadline) {
      throw new SshConfigError(
        `another writer holds ${lock} (waited ${timeoutMs} ms); delete it if no Hangar window is writing the file`,
        'locked',
      );
    }
    await sleep(delay * (0.5 + Math.random()));
  }
  return async () => {
    // Only our own lock: if ours went stale and someone broke it, theirs must stay.
    try {
      if (Buffer.from(await fs.readFile(lock)).toString() === token) await fs.unlink(lock);
    } catch {
      /* gone already */
    }
  };
}

/** True when the lock is gone or was stale and we removed it (retry at once). */
async function breakStale(fs: SshConfigFs, lock: string, staleMs: number): Promise<boolean> {
  let seen: string;
  try {
    if (Date.now() - (await fs.stat(lock)).mtimeMs < staleMs) return false;
    seen = Buffer.from(await fs.readFile(lock)).toString();
  } catch (e) {
    if (errCode(e) === 'ENOENT') return true;
    throw e;
  }
  // Move it aside first (atomic: one breaker wins), then check it's the stale one we looked at, not a fresh lock.
  const aside = `${lock}.stale-${randomBytes(6).toString('hex')}`;
  try {
    await fs.rename(lock, aside);
  } catch (e) {
    if (errCode(e) === 'ENOENT') return true;
    throw e;
  }
  const got = Buffer.from(await fs.readFile(aside)).toString();
  if (got !== seen) await fs.rename(aside, lock).catch(() => undefined);
  else await fs.unlink(aside).catch(() => undefined);
  return true;
}

/** rename, retried briefly where Windows refuses it while a reader (or a virus scanner) has the file open. */
async function renameRetrying(fs: SshConfigFs, from: string, to: string): Promise<void> {
  for (let i = 0; ; i++) {
    try {
      return await fs.rename(from, to);
    } catch (e) {
      if (process.platform !== 'win32' || i >= 10 || !['EPERM', 'EACCES', 'EBUSY'].includes(errCode(e) ?? '')) throw e;
      await sleep(20 * (i + 1));
    }
  }
}

/**
 * Puts `block` (from renderBlock; null removes it) for the gateway into the SSH config `file` and reports whether
 * the file changed and which user settings override the block. A missing file counts as empty; its directory is
 * created 0700. Writes go to a temp file in the target's directory and are renamed over it (atomic), with the old
 * mode (new file: 0600), through a symlink to its target. Writers are serialized by `<target>.hangar.lock` and merge
 * into content read under the lock, so concurrent writers (windows, gateways) all land. The user's bytes are kept
 * exactly, whatever their encoding. Throws SshConfigError ('markers', 'block', 'locked') with the file named.
 */
export async function writeManagedBlock(
  file: string,
  gatewayUrl: string,
  block: string | null,
  opts: WriteOptions = {},
): Promise<{ changed: boolean; warnings: string[] }> {
  const fs: SshConfigFs = opts.fs ?? nodeFs;
  const target = await resolveTarget(fs, file);
  // Content as latin1: one char per byte, so bytes that aren't UTF-8 survive; the block goes in as its UTF-8 bytes.
  const bin = block === null ? null : Buffer.from(block, 'utf8').toString('latin1');
  const merge = (raw: Buffer) => {
    try {
      return mergeBlock(raw.toString('latin1'), gatewayUrl, bin);
    } catch (e) {
      throw e instanceof SshConfigError ? e.withFile(file) : e;
    }
  };
  const warningsFor = (content: string) =>
    block === null
      ? []
      : findOverrides(Buffer.from(content, 'latin1').toString('utf8'), gatewayHostPattern(gatewayUrl)).map(
          (w) => `${file}, ${w}`,
        );

  // Fast path without the lock: nothing to change (the common case on every activation), or broken markers.
  const first = await readOrEmpty(fs, target);
  if (merge(first) === first.toString('latin1'))
    return { changed: false, warnings: warningsFor(first.toString('latin1')) };

  const dir = path.dirname(target);
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  const release = await acquireLock(
    fs,
    `${target}.hangar.lock`,
    opts.lockTimeoutMs ?? 5000,
    opts.lockStaleMs ?? 30_000,
  );
  try {
    const raw = await readOrEmpty(fs, target); // again, under the lock: another writer may have landed meanwhile
    const before = raw.toString('latin1');
    const after = merge(raw);
    if (after === before) return { changed: false, warnings: warningsFor(before) };
    let mode = 0o600;
    try {
      mode = (await fs.stat(target)).mode & 0o7777;
    } catch (e) {
      if (errCode(e) !== 'ENOENT') throw e;
    }
    const tmp = path.join(dir, `.${path.basename(target)}.hangar-${process.pid}-${randomBytes(6).toString('hex')}.tmp`);
    try {
      await fs.writeFile(tmp, Buffer.from(after, 'latin1'), { mode, flag: 'wx' });
      await fs.chmod(tmp, mode); // the create mode went through the umask
      await renameRetrying(fs, tmp, target);
    } catch (e) {
      await fs.unlink(tmp).catch(() => undefined);
      throw e;
    }
    return { changed: true, warnings: warningsFor(after) };
  } finally {
    await release();
  }
}

/** The config file Remote-SSH uses: its `remote.SSH.configFile` setting (with `~` expanded), else ~/.ssh/config. */
export function sshConfigPath(setting: string | undefined, home: string): string {
  const s = setting?.trim();
  if (!s) return path.join(home, '.ssh', 'config');
  if (s === '~' || s.startsWith('~/') || s.startsWith('~\\')) return path.join(home, s.slice(1));
  return path.resolve(s);
}
