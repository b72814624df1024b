import os from 'node:os';
import path from 'node:path';

// The cache directory the set-up scripts use (test/setup/lib.sh): HANGAR_CACHE_DIR, then the
// older HANGAR_CACHE, then ~/.cache/hangar.
export const CACHE_DIR =
  process.env.HANGAR_CACHE_DIR ||
  process.env.HANGAR_CACHE ||
  path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'hangar');
