// The receiving end of bench/live.ts's raw TCP measurement, in a process of its own: listens
// on loopback, prints its port, reads `bytes` bytes, answers one byte, and exits.

import { createServer } from "node:net";

const expected = Number(process.argv[2]);
const server = createServer((socket) => {
  let got = 0;
  socket.on("data", (chunk: Buffer) => {
    got += chunk.length;
    if (got >= expected) socket.end(Buffer.of(1), () => server.close());
  });
});
server.listen(0, "127.0.0.1", () => process.stdout.write(`${(server.address() as { port: number }).port}\n`));
