// Making an env's objects: its namespace (per user or team, with the gateway-only NetworkPolicy), placement on a
// GPU model, the server-side dry run (preflight) and the objects themselves.
import type { V1Pod } from '@kubernetes/client-node';
import { BackendUnavailableError, UnprocessableError } from '../../errors';
import { LABELS, type EnvSpec } from '../../contract';
import { formatRef, statusOf, unless } from './api';
import type { K8sClient } from './client';
import { datasetSecret } from './datasetSync';
import {
  bootSecret,
  cronJob,
  deployment,
  GPU_PRODUCT_LABEL,
  job,
  namespaceFor,
  networkPolicy,
  objectName,
  podTemplate,
  publicPolicy,
  publicService,
  service,
  statefulSet,
  TEAM_LABEL,
  teamNamespace,
  workloadKind,
  type Placement,
} from './manifests';
import { createWorkload, listWhere } from './workloads';
import { envClaims, templateHome } from './claims';
import { ensureClaims } from './claimsApi';

const ENFORCE_RESTRICTED = {
  'pod-security.kubernetes.io/enforce': 'restricted',
  'pod-security.kubernetes.io/enforce-version': 'latest',
};

export { TEAM_LABEL } from './conventions';

export class K8sCreate {
  /** Namespaces seen ready (with their policy) in the last minute: preflight and create both ask. */
  private readonly namespacesSeen = new Map<string, number>();

  constructor(
    private readonly c: K8sClient,
    private readonly remove: (ref: string) => Promise<void>,
  ) {}

  /** per-user: hangar-<owner>; per-team: hangar-team-<team> for users with a team (others keep their own). */
  private namespaceOf(spec: EnvSpec): string {
    if (this.c.o.namespace_policy === 'per-team' && spec.team)
      return teamNamespace(this.c.o.namespace_prefix, spec.team);
    return namespaceFor(this.c.o.namespace_prefix, spec.owner);
  }

  /** The namespace (with its gateway-only policy); `who` labels a new one (an owner, or a team). */
  async ensureNamespace(namespace: string, spec: Pick<EnvSpec, 'owner' | 'team'>): Promise<void> {
    if ((this.namespacesSeen.get(namespace) ?? 0) > Date.now() - 60_000) return;
    const c = this.c;
    const ns = await c.maybe(() => c.core.readNamespace({ name: namespace }));
    if (ns?.status?.phase === 'Terminating')
      throw new UnprocessableError(
        `namespace '${namespace}' is being deleted on backend '${c.id}'; try again when it is gone`,
      );
    if (!ns) {
      const whose: Record<string, string> =
        namespace === namespaceFor(c.o.namespace_prefix, spec.owner)
          ? { [LABELS.owner]: spec.owner }
          : { [TEAM_LABEL]: spec.team ?? '' };
      await c
        .call(() =>
          c.core.createNamespace({
            body: {
              metadata: {
                name: namespace,
                labels: {
                  ...{ [LABELS.managed]: 'true', [LABELS.gateway]: c.o.gatewayId, [LABELS.backend]: c.id, ...whose },
                  // pod_security restricted: the API server's Pod Security admission enforces it on every pod here
                  // (the create's dry run included), not only Hangar's own spec.
                  ...(c.o.pod_security === 'restricted' ? ENFORCE_RESTRICTED : {}),
                },
              },
            },
          }),
        )
        .catch(unless(409));
    }
    await c
      .call(() => c.net.createNamespacedNetworkPolicy({ namespace, body: networkPolicy(c.k8s, namespace) }))
      .catch(unless(409));
    this.namespacesSeen.set(namespace, Date.now());
  }

  /** gpu_model is a substring of the product name ("H100", "A100 80GB"): find the node label values it names. */
  private async placement(spec: EnvSpec): Promise<Placement> {
    const model = spec.gpuModel?.trim();
    if (!model || spec.gpus.mode === 'none') return {};
    let products: string[];
    try {
      const nodes = await this.c.call(() => this.c.core.listNode({ labelSelector: GPU_PRODUCT_LABEL }));
      products = [
        ...new Set(
          nodes.items.map((n) => n.metadata?.labels?.[GPU_PRODUCT_LABEL]).filter((x): x is string => Boolean(x)),
        ),
      ].sort();
    } catch (err) {
      if (statusOf(err) === 403) return { nodeSelector: { [GPU_PRODUCT_LABEL]: model } }; // may not list nodes: take it as the label value
      throw err;
    }
    const norm = (s: string) => s.toLowerCase().replace(/[\s_]+/g, '-');
    const match = products.filter((p) => norm(p).includes(norm(model)));
    if (match.length === 0)
      throw new UnprocessableError(
        `no node of backend '${this.c.id}' has GPU model '${model}' (${GPU_PRODUCT_LABEL}: ${products.join(', ') || 'none'})`,
      );
    return match.length === 1 ? { nodeSelector: { [GPU_PRODUCT_LABEL]: match[0] } } : { products: match };
  }

  /** The pod as the API server's admission sees it (LimitRange, ResourceQuota, validation), without making it. */
  async preflight(spec: EnvSpec): Promise<void> {
    const kind = workloadKind(spec);
    const namespace = this.namespaceOf(spec);
    const template = podTemplate(spec, this.c.k8s, {}, kind);
    envClaims(spec, this.c.k8s, namespace); // a Ceph kind this backend maps no class for: 400 before anything
    await this.ensureNamespace(namespace, spec);
    const pod: V1Pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: objectName(spec), namespace, labels: template.metadata?.labels },
      spec: template.spec,
    };
    // A StatefulSet's pods get /home from its claim template; a stand-in volume for the dry run.
    if (templateHome(spec, kind)) pod.spec!.volumes = [...(pod.spec!.volumes ?? []), { name: 'home', emptyDir: {} }];
    await this.c
      .call(() => this.c.core.createNamespacedPod({ namespace, body: pod, dryRun: 'All' }))
      .catch((err) => {
        if (statusOf(err) !== 409) this.c.refused('pod')(err);
      });
  }

  /** Idempotent: an env's workload kind never changes, so only that kind is looked for (not when provisioning
   *  knows there is none: one round trip less on every create). */
  private async existing(spec: EnvSpec, kind: ReturnType<typeof workloadKind>): Promise<string | undefined> {
    if (spec.absent) return undefined;
    const [found] = await listWhere(this.c, `${this.c.ownSelector()},${LABELS.envId}=${spec.envId}`, [kind]);
    return found?.ref;
  }

  async create(spec: EnvSpec): Promise<string> {
    const c = this.c;
    const kind = workloadKind(spec);
    const existing = await this.existing(spec, kind);
    if (existing) return existing;
    const namespace = this.namespaceOf(spec);
    const placement = await this.placement(spec);
    // Build everything first: an unsupported spec fails before anything is made.
    const secret = bootSecret(spec, c.k8s, namespace);
    const keys = datasetSecret(spec, c.k8s, namespace);
    const svc = service(spec, c.k8s, namespace);
    const pub = publicService(spec, c.k8s, namespace);
    const pubPolicy = publicPolicy(spec, c.k8s, namespace);
    const claims = envClaims(spec, c.k8s, namespace);
    const workload = { deployment, statefulset: statefulSet, job, cronjob: cronJob }[kind](
      spec,
      c.k8s,
      namespace,
      placement,
    );
    await this.ensureNamespace(namespace, spec);
    const ref = formatRef({ namespace, kind, name: objectName(spec), envId: spec.envId });
    // 409: left by an earlier, interrupted create of this env. Kept, except the boot Secret: it holds the host
    // key, and a resumed create makes a new one.
    const keep = (what: string) => (err: unknown) => (statusOf(err) === 409 ? undefined : c.refused(what)(err));
    try {
      // Create a Secret, or replace one left by an earlier create (it holds keys made anew each time).
      const putSecret = (body: typeof secret) =>
        c
          .call(() => c.core.createNamespacedSecret({ namespace, body }))
          .catch(async (err) => {
            if (statusOf(err) !== 409) return c.refused('Secret')(err);
            await c.call(() => c.core.replaceNamespacedSecret({ name: body.metadata!.name!, namespace, body }));
          });
      // Independent of each other: made at once (one round trip, not several); all settled before the workload.
      const made = await Promise.allSettled([
        putSecret(secret),
        // The datasets' keys are made again with each create (a new secret): replaced, like the boot Secret.
        keys && putSecret(keys),
        c.call(() => c.core.createNamespacedService({ namespace, body: svc })).catch(keep('Service')),
        pub && c.call(() => c.core.createNamespacedService({ namespace, body: pub })).catch(keep('public Service')),
        pubPolicy &&
          c
            .call(() => c.net.createNamespacedNetworkPolicy({ namespace, body: pubPolicy }))
            .catch(keep('NetworkPolicy')),
        // Claims before the pod that mounts them (they outlive it: stop keeps them; volumes' outlive the env).
        ensureClaims(c, namespace, claims),
      ]);
      const failed = made.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
      await c.call(() => createWorkload(c, kind, namespace, workload)).catch(keep(kind));
    } catch (err) {
      this.namespacesSeen.delete(namespace); // deleted behind our back? Look again next time.
      if (!(err instanceof BackendUnavailableError)) await this.remove(ref).catch(() => undefined);
      throw err;
    }
    return ref;
  }
}
