// What the lifecycle tells an outside registry of environments (JumpServer, services/jumpserver.ts) and asks it.
// Defined here so the lifecycle depends on this shape only, never on the registry.
import type { ConnectionInfo, Environment } from '../../common/model';

export interface RegistrationHooks {
  /** Before an env is made (or switched) to use_jumpserver: throws (503) when it must be registered and can't be. */
  admit(useJumpServer: boolean): Promise<void>;
  /** After create, or a PATCH of use_jumpserver: registers or deregisters. Throws only when the policy requires
   *  registration (after undoing what it made). */
  sync(env: Environment): Promise<void>;
  /** Started / stopped: the asset follows (is_active). Never throws: drift is reconcile's. */
  active(env: Environment, active: boolean): Promise<void>;
  /** Deleted: its objects go. Never throws: what is left, reconcile removes. */
  removed(envId: string): Promise<void>;
  /** The env's route through JumpServer (connection info), once registered. */
  route(env: Environment): Promise<ConnectionInfo['jumpserver']>;
  /** Direct access (the gateway's tunnel) is refused for this env: JumpServer is required for it. */
  directRefused(env: Environment): boolean;
}
