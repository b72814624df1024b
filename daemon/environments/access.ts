// Access protocols an image declares by label (RStudio, NoMachine, …), offered by the connection endpoint.
const ACCESS_LABEL = /^dev\.hangar\.access\.([a-z][a-z0-9-]{0,31})$/;

/** `dev.hangar.access.<protocol>=<port>` labels → what the connection endpoint offers. */
export function declaredAccess(labels: Record<string, string>): { protocol: string; port: number }[] {
  return Object.entries(labels)
    .flatMap(([k, v]) => {
      const m = ACCESS_LABEL.exec(k);
      const port = Number(v);
      return m && Number.isInteger(port) && port > 0 && port < 65536 ? [{ protocol: m[1], port }] : [];
    })
    .sort((a, b) => a.protocol.localeCompare(b.protocol));
}
