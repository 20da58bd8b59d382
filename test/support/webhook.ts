import { createServer, type Server } from 'node:http';

export interface ReceivedHook {
  id: string;
  key: string;
  pattern: string;
  body: unknown;
}

/** An HTTP endpoint for outbox tests that records what it receives; `respond` decides the status. */
export async function startWebhook(respond: (hook: ReceivedHook) => number | Promise<number> = () => 200) {
  const received: ReceivedHook[] = [];
  const server: Server = createServer((req, res) => {
    let raw = '';
    req.on('data', (chunk) => (raw += chunk));
    req.on('end', async () => {
      const hook = {
        id: String(req.headers['mailroom-message-id']),
        key: String(req.headers['mailroom-key']),
        pattern: String(req.headers['mailroom-pattern']),
        body: JSON.parse(raw),
      };
      const status = await respond(hook);
      if (status < 300) received.push(hook);
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}/hook`,
    received,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
