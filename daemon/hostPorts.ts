// Whether a port is free on an address of this machine: a bind that succeeds, then closes. For ports a backend
// publishes beside the gateway (a local Docker engine, libvirt's qemu:///system), where another gateway on the host,
// or anything else, may already listen on one this gateway's own database thinks is free.
import net from 'node:net';

export function portIsFree(address: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen({ port, host: address, exclusive: true }, () => srv.close(() => resolve(true)));
  });
}
