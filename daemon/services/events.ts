import { EventEmitter } from 'node:events';
import type { EnvEvent } from '../../common/model';

/** In-process fan-out of environment events to WebSocket subscribers. */
export class EventBus {
  private readonly emitter = new EventEmitter();
  constructor() {
    this.emitter.setMaxListeners(0);
  }
  publish(e: Omit<EnvEvent, 'at'>): void {
    this.emitter.emit('event', { ...e, at: new Date().toISOString() });
  }
  subscribe(fn: (e: EnvEvent) => void): () => void {
    this.emitter.on('event', fn);
    return () => this.emitter.off('event', fn);
  }
}
