// Where the native `hangar proxy` (native/cmd/hangar-proxy, built by scripts/build-native.sh) sits beside a
// bundle: dist/native/<goos>-<goarch>/hangar-proxy[.exe]. ssh then starts one small static binary per
// connection instead of a Node runtime; without it the Node CLI stays the ProxyCommand.
import fs from 'node:fs';
import path from 'node:path';

const GOOS: Partial<Record<NodeJS.Platform, string>> = { linux: 'linux', darwin: 'darwin', win32: 'windows' };
const GOARCH: Record<string, string> = { x64: 'amd64', arm64: 'arm64' };

/** "linux-amd64", "windows-arm64", …; undefined where no native build exists. */
export function nativePlatformDir(platform: NodeJS.Platform, arch: string): string | undefined {
  const os = GOOS[platform];
  const a = GOARCH[arch];
  return os && a ? `${os}-${a}` : undefined;
}

/** The native proxy under `distDir` for this platform, when it was built (HANGAR_NATIVE_PROXY=0: never). */
export function nativeProxyPath(
  distDir: string,
  o: { platform?: NodeJS.Platform; arch?: string; env?: NodeJS.ProcessEnv } = {},
): string | undefined {
  if ((o.env ?? process.env).HANGAR_NATIVE_PROXY === '0') return undefined;
  const platform = o.platform ?? process.platform;
  const dir = nativePlatformDir(platform, o.arch ?? process.arch);
  if (!dir) return undefined;
  const file = path.join(distDir, 'native', dir, platform === 'win32' ? 'hangar-proxy.exe' : 'hangar-proxy');
  return fs.existsSync(file) ? file : undefined;
}
