// The gateway's event stream (WebSocket /api/v1/events) with reconnect and backoff, for the CLI and the extension.
// After a reconnect, callers should re-read state: events sent while disconnected are not replayed.
import type http from 'node:http';
import WebSocket from 'ws';
import type { EnvEvent } from './model';
import { TlsTrustError } from './tls/errors';

export interface EventStreamOptions {
  url: string;
  token?: string;
  /** https:// gateways: the client's pin-checking agent (HangarClient.agent). */
  agent?: http.Agent;
  onEvent: (e: EnvEvent) => void;
  /** Called on every (re)connection; `reconnected` is true after a drop. */
  onOpen?: (reconnected: boolean) => void;
  onClose?: (err?: Error) => void;
  /** Give up after this many failed attempts in a row (default: never). */
  maxAttempts?: number;
}

export class EventStream {
  private ws?: WebSocket;
  private closed = false;
  private attempts = 0;
  private timer?: NodeJS.Timeout;
  private heartbeat?: NodeJS.Timeout;
  private opened = false;
  readonly ready: Promise<void>;
  private markReady!: () => void;

  constructor(private readonly o: EventStreamOptions) {
    this.ready = new Promise((resolve) => {
      this.markReady = resolve;
    });
    this.connect();
  }

  private connect(): void {
    const ws = new WebSocket(`${this.o.url.replace(/\/+$/, '').replace(/^http/, 'ws')}/api/v1/events`, {
      headers: this.o.token ? { authorization: `Bearer ${this.o.token}` } : {},
      handshakeTimeout: 15_000,
      ...(this.o.agent ? { agent: this.o.agent } : {}),
    });
    this.ws = ws;
    ws.on('open', () => {
      const reconnected = this.opened;
      this.opened = true;
      this.attempts = 0;
      this.markReady();
      this.o.onOpen?.(reconnected);
      this.watchdog();
    });
    // The server pings every 20 s: silence for longer means the link died (sleep, network change).
    ws.on('ping', () => this.watchdog());
    ws.on('message', (data) => {
      this.watchdog();
      try {
        this.o.onEvent(JSON.parse(data.toString()) as EnvEvent);
      } catch {
        /* ignore malformed */
      }
    });
    ws.on('unexpected-response', (_req, res) => {
      ws.terminate();
      if (res.statusCode === 401 || res.statusCode === 403) {
        this.closed = true;
        this.o.onClose?.(Object.assign(new Error('the gateway refused the token'), { status: res.statusCode }));
      }
    });
    // A refused certificate won't get better by retrying: report it and stop.
    ws.on('error', (err) => {
      if (err instanceof TlsTrustError) {
        this.closed = true;
        this.o.onClose?.(err);
      }
    });
    ws.on('close', () => this.retry());
  }

  private watchdog(): void {
    clearTimeout(this.heartbeat);
    this.heartbeat = setTimeout(() => this.ws?.terminate(), 45_000);
    this.heartbeat.unref?.();
  }

  private retry(): void {
    clearTimeout(this.heartbeat);
    if (this.closed) return;
    this.attempts++;
    if (this.o.maxAttempts && this.attempts >= this.o.maxAttempts) {
      this.closed = true;
      this.o.onClose?.(new Error('event stream unavailable'));
      return;
    }
    const delay = Math.min(30_000, 250 * 2 ** Math.min(this.attempts, 7)) * (0.5 + Math.random() / 2);
    this.timer = setTimeout(() => this.connect(), delay);
    this.timer.unref?.();
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    clearTimeout(this.heartbeat);
    this.ws?.terminate();
  }
}
