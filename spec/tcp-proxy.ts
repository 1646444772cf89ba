// A TCP proxy in front of the PostgreSQL server for the feed specs: freeze() makes every
// connection open through it silent (bytes are held, nothing is closed), as a dead network or a
// hung host would; connections opened later pass again.
import { createConnection, createServer, type AddressInfo, type Socket } from 'node:net';

export interface Proxy {
  /** A connection string through the proxy. */
  readonly url: string;
  /** Stops every current connection from passing anything, without closing it. */
  freeze(): void;
  close(): Promise<void>;
}

export async function startProxy(target: { host: string; port: number }, database: string): Promise<Proxy> {
  const pairs = new Set<[Socket, Socket]>();
  const frozen: Socket[] = [];
  const server = createServer((client) => {
    const upstream = createConnection(target);
    const pair: [Socket, Socket] = [client, upstream];
    pairs.add(pair);
    client.pipe(upstream);
    upstream.pipe(client);
    const end = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `postgres://postgres@127.0.0.1:${port}/${database}`,
    freeze() {
      for (const [client, upstream] of pairs) {
        client.unpipe(upstream);
        upstream.unpipe(client);
        client.pause();
        upstream.pause();
        frozen.push(client, upstream);
      }
      pairs.clear();
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of frozen) socket.destroy();
        for (const [client, upstream] of pairs) {
          client.destroy();
          upstream.destroy();
        }
        server.close(() => resolve());
      }),
  };
}
