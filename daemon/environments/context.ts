// What the lifecycle's parts share: the narrow collaborators, never the service facade itself.
import type { Backends } from '../contract';
import type { GpuService } from '../gpu/service';
import type { Logger } from '../log';
import type { EventBus } from '../services/events';
import type { EnvironmentRepo } from '../store/environments';
import type { OperationLock } from './lock';
import type { DatasetAttachments } from './datasetMounts';

export interface LifecycleContext {
  repo: EnvironmentRepo;
  backends: Backends;
  events: EventBus;
  log: Logger;
  lock: OperationLock;
  gpus: GpuService;
  stopTimeoutS: number;
  /** Host-side dataset mounts: made before every start, removed after stop and delete. */
  datasets?: DatasetAttachments;
}
