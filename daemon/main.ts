// hangard: the Hangar gateway daemon.
import { loadConfig } from './config';
import { startServer } from './server';
import { VERSION } from '../common/version';
import { backup, restore } from './backup';
import { TlsConfigError } from './tls';

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`hangard ${VERSION}: the Hangar gateway daemon

Usage: hangard [--config FILE] [--listen HOST:PORT] [--data-dir DIR] [--docker-host URL] [--public-url URL] [--log-level LEVEL]
               [--tls self-signed|off] [--tls-cert-file FILE --tls-key-file FILE] [--trust-proxy VALUE]
       hangard backup FILE [--config FILE | --data-dir DIR]    database (online), secret.key and gateway.id in one archive (0600)
       hangard restore FILE [--force] [--config FILE | --data-dir DIR]   into a stopped daemon's (empty, unless --force) data dir

Environment: HANGAR_CONFIG, HANGAR_LISTEN (default 127.0.0.1:7420), HANGAR_DATA_DIR (default ~/.local/share/hangar),
             HANGAR_DOCKER_HOST, HANGAR_PUBLIC_URL, HANGAR_LOG_LEVEL, HANGAR_TLS, HANGAR_TLS_CERT_FILE, HANGAR_TLS_KEY_FILE,
             HANGAR_TRUST_PROXY. Flags win over the environment, which wins over the file.
`);
    return;
  }
  if (argv.includes('--version')) {
    process.stdout.write(VERSION + '\n');
    return;
  }
  if (argv[0] === 'backup' || argv[0] === 'restore') return archive(argv);
  let cfg;
  try {
    cfg = loadConfig({ argv, env: process.env });
  } catch (err) {
    process.stderr.write(`hangard: ${(err as Error).message}\n`);
    process.exit(2);
  }
  const srv = await startServer(cfg).catch((err) => {
    if (!(err instanceof TlsConfigError)) throw err;
    process.stderr.write(`hangard: ${err.message}\n`);
    process.exit(2);
  });
  // What users compare with the fingerprint `hangar login` shows them.
  if (srv.tlsFingerprint) process.stderr.write(`hangard: TLS certificate SHA-256 fingerprint ${srv.tlsFingerprint}\n`);
  if (srv.adminTokenFile) process.stderr.write(`hangard: first start — admin token written to ${srv.adminTokenFile}\n`);
  const shutdown = (sig: string) => {
    srv.log.info({ sig }, 'shutting down');
    void srv.close().then(() => process.exit(0));
    setTimeout(() => process.exit(1), 10_000).unref();
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}

/** hangard backup|restore FILE [--force] [config flags]: exit 2 on bad usage, 1 when it fails. */
async function archive(argv: string[]): Promise<void> {
  const [cmd, file, ...rest] = argv;
  const force = rest.includes('--force');
  if (!file || file.startsWith('--') || (force && cmd !== 'restore')) {
    process.stderr.write(
      `hangard: usage: hangard ${cmd} FILE${cmd === 'restore' ? ' [--force]' : ''} [--config FILE | --data-dir DIR]\n`,
    );
    process.exit(2);
  }
  let cfg;
  try {
    cfg = loadConfig({ argv: rest.filter((a) => a !== '--force'), env: process.env });
  } catch (err) {
    process.stderr.write(`hangard: ${(err as Error).message}\n`);
    process.exit(2);
  }
  const r = cmd === 'backup' ? await backup(cfg.data_dir, file) : await restore(file, cfg.data_dir, { force });
  process.stderr.write(
    `hangard: ${cmd === 'backup' ? `${cfg.data_dir} backed up to ${file}` : `${file} restored into ${cfg.data_dir}`} (gateway ${r.gatewayId})\n`,
  );
}

main().catch((err) => {
  process.stderr.write(`hangard: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
