// ssh_server agent on Kubernetes: an init container from the operator's agent image (agent_image: an image holding
// /hangar-agent, mirrored into their registry) copies the agent into an emptyDir mounted at /.hangar/bin — no exec
// streaming, no registry of Hangar's own. With pod_security restricted the pod meets the "restricted" Pod Security
// profile: runAsNonRoot as restricted_uid, seccomp RuntimeDefault, every capability dropped, no privilege escalation;
// the agent then serves as that uid on RESTRICTED_SSH_PORT (a port under 1024 needs a capability it no longer has).
import type { V1PodTemplateSpec, V1SecurityContext } from '@kubernetes/client-node';
import { AGENT_PATH, SSH_PORT, type EnvSpec } from '../../contract';
import { UnprocessableError } from '../../errors';

export const RESTRICTED_SSH_PORT = 2222;
const AGENT_DIR = AGENT_PATH.slice(0, AGENT_PATH.lastIndexOf('/'));

export interface AgentPodOptions {
  agentImage?: string;
  restricted?: boolean;
  restrictedUid?: number;
}

const restrictedContainer: V1SecurityContext = {
  privileged: false,
  allowPrivilegeEscalation: false,
  runAsNonRoot: true,
  capabilities: { drop: ['ALL'] },
  seccompProfile: { type: 'RuntimeDefault' },
};

/** The pod template with the agent's init container and volume (and the restricted profile when asked). */
export function withAgent(t: V1PodTemplateSpec, spec: EnvSpec, o: AgentPodOptions): V1PodTemplateSpec {
  if (!spec.agent) return t;
  if (!o.agentImage)
    throw new UnprocessableError(
      'ssh_server agent on this Kubernetes backend needs its agent_image (an image with /hangar-agent, mirrored into your registry); or create the env with ssh_server image',
    );
  const pod = t.spec!;
  const [main] = pod.containers;
  // After any of the env's own init steps (share directories made as root run before the agent is copied).
  pod.initContainers = [
    ...(pod.initContainers ?? []),
    {
      name: 'hangar-agent',
      image: o.agentImage,
      imagePullPolicy: 'IfNotPresent',
      command: ['/hangar-agent', 'install', `/agent/hangar-agent`],
      volumeMounts: [{ name: 'hangar-agent', mountPath: '/agent' }],
      securityContext: restrictedContainer,
      resources: { limits: { cpu: '100m', memory: '32Mi' }, requests: { cpu: '10m', memory: '16Mi' } },
    },
  ];
  pod.volumes = [...(pod.volumes ?? []), { name: 'hangar-agent', emptyDir: { sizeLimit: '32Mi' } }];
  main.volumeMounts = [...(main.volumeMounts ?? []), { name: 'hangar-agent', mountPath: AGENT_DIR }];
  if (!o.restricted) return t;
  const uid = o.restrictedUid ?? 1000;
  pod.securityContext = {
    runAsNonRoot: true,
    runAsUser: uid,
    runAsGroup: uid,
    fsGroup: uid,
    seccompProfile: { type: 'RuntimeDefault' },
  };
  main.securityContext = restrictedContainer;
  for (const p of main.ports ?? []) if (p.containerPort === SSH_PORT) p.containerPort = RESTRICTED_SSH_PORT;
  if (main.readinessProbe?.tcpSocket) main.readinessProbe.tcpSocket.port = RESTRICTED_SSH_PORT;
  return t;
}
