// Small stream helpers shared by backends and the lifecycle.
type Emitter = { on(event: string, cb: (...a: any[]) => void): unknown };

export function streamToBuffer(s: Emitter): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    s.on('data', (c: Buffer) => chunks.push(Buffer.from(c)));
    s.on('end', () => resolve(Buffer.concat(chunks)));
    s.on('error', reject);
  });
}

export function readAll(s: Emitter): Promise<string> {
  return streamToBuffer(s).then((b) => b.toString());
}

/** POSIX single-quote escaping. */
export const shq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
