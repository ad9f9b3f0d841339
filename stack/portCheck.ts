import net from 'node:net';

/** True when nothing listens on the port (we could bind it ourselves). */
export function isPortFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** Fails with one message naming every port already taken and the setting that moves it. */
export async function assertPortsFree(
  ports: { port: number; what: string; setting?: string }[],
  host = '127.0.0.1',
): Promise<void> {
  const taken = [];
  for (const p of ports) if (!(await isPortFree(p.port, host))) taken.push(p);
  if (taken.length > 0) {
    const list = taken
      .map((p) => `${p.port} (${p.what}${p.setting ? `; set ${p.setting} to use another` : ''})`)
      .join(', ');
    throw new Error(`port${taken.length > 1 ? 's' : ''} already in use on ${host}: ${list}`);
  }
}
