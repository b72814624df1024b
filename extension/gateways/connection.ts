// One gateway: its API client, its environments (kept fresh by the event stream) and its reachability.
import * as vscode from 'vscode';
import { ApiError, HangarClient, VSCODE_CLIENT } from '../../common/client';
import { EventStream } from '../../common/events';
import type { Environment, GpuInfo, StorageOverview } from '../../common/model';
import type { BackupSchedule } from '../../common/snapshots';
import type { TlsTrustError } from '../../common/tls/errors';
import type { TlsTrust } from '../../common/tls/trust';

export type GatewayState =
  { kind: 'loading' } | { kind: 'ok' } | { kind: 'error'; message: string; unauthorized: boolean };

export class GatewayConnection implements vscode.Disposable {
  readonly client: HangarClient;
  environments: Environment[] = [];
  /** The gateway's GPU inventory (empty when it has none, or predates the endpoint). */
  gpus: GpuInfo[] = [];
  /** What the user may mount (GET /storage); undefined from a gateway that predates the endpoint. */
  storage?: StorageOverview;
  /** The user's backup schedules (the Storage view shows a scheduled volume's backups); empty where none. */
  backupSchedules: BackupSchedule[] = [];
  state: GatewayState = { kind: 'loading' };
  private readonly emitter = new vscode.EventEmitter<void>();
  readonly onDidChange = this.emitter.event;
  private stream?: EventStream;
  private refreshing?: Promise<void>;
  private again = false;

  /** `trust`: the pin and CA for https:// gateways; `trustError` when the CA file can't be read (nothing connects). */
  constructor(
    readonly url: string,
    token: string,
    trust: TlsTrust = {},
    readonly trustKey = '',
    private readonly trustError?: TlsTrustError,
  ) {
    this.client = new HangarClient({ url, token, timeoutMs: 30_000, tls: trust, client: VSCODE_CLIENT });
  }

  start(): void {
    if (this.trustError) {
      this.setState({ kind: 'error', message: this.trustError.message, unauthorized: false });
      return;
    }
    this.stream = new EventStream({
      url: this.url,
      token: this.client.token,
      agent: this.client.agent,
      // Events say what changed; re-reading the list keeps one source of truth (and covers missed events).
      onEvent: () => void this.refresh(),
      onOpen: () => void this.refresh(),
      onClose: (err) => {
        if (err)
          this.setState({
            kind: 'error',
            message: err.message,
            unauthorized: (err as { status?: number }).status === 401,
          });
      },
    });
    void this.refresh();
  }

  /** Coalesces bursts: at most one request in flight and one queued. */
  refresh(): Promise<void> {
    if (this.refreshing) {
      this.again = true;
      return this.refreshing;
    }
    this.refreshing = (async () => {
      do {
        this.again = false;
        try {
          const absent =
            <T>(fallback: T) =>
            (err: unknown) =>
              err instanceof ApiError && err.status === 404 ? fallback : Promise.reject(err);
          const [envs, gpus, storage, schedules] = await Promise.all([
            // Pages of 500 (cursors followed): one response never has to hold thousands of envs.
            this.client.listEnvironmentsPaged({}, 500),
            this.client.request<GpuInfo[]>('GET', '/api/v1/gpus').catch(absent<GpuInfo[]>([])),
            this.client.storage().catch(absent<StorageOverview | undefined>(undefined)),
            // Secondary: a gateway without backups (or one failing to list them) still shows its envs.
            this.client.backupSchedules().catch((): BackupSchedule[] => []),
          ]);
          this.backupSchedules = schedules;
          this.environments = envs;
          this.gpus = gpus;
          this.storage = storage;
          this.state = { kind: 'ok' };
        } catch (err) {
          this.state = {
            kind: 'error',
            message: (err as Error).message,
            unauthorized: err instanceof ApiError && err.status === 401,
          };
        }
        this.emitter.fire();
      } while (this.again);
    })().finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  private setState(s: GatewayState): void {
    this.state = s;
    this.emitter.fire();
  }

  find(idOrName: string): Environment | undefined {
    return this.environments.find((e) => e.id === idOrName) ?? this.environments.find((e) => e.name === idOrName);
  }

  dispose(): void {
    this.stream?.close();
    this.client.agent?.destroy();
    this.emitter.dispose();
  }
}
