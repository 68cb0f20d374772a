// `livemig serve [--port N]`: the what-if page (built into dist/web/ by `npm run build`),
// on the loopback address only.

import { existsSync, readFileSync } from "node:fs";
import type { Server } from "node:http";
import { join } from "node:path";
import type { Command } from "commander";
import { UsageError } from "./errors.js";
import { projectRoot } from "../project-root.js";

/** Built by `npm run build` (web/build.mjs). */
const webRoot = join(projectRoot(), "dist", "web");

/** The only files served: nothing else on disk can be reached through a URL. */
const files: Record<string, { file: string; type: string }> = {
  "/": { file: "index.html", type: "text/html; charset=utf-8" },
  "/index.html": { file: "index.html", type: "text/html; charset=utf-8" },
  "/app.js": { file: "app.js", type: "text/javascript; charset=utf-8" },
  "/worker.js": { file: "worker.js", type: "text/javascript; charset=utf-8" },
  "/app.js.map": { file: "app.js.map", type: "application/json" },
  "/worker.js.map": { file: "worker.js.map", type: "application/json" },
};

export function parsePort(value: string): number {
  const n = Number(value);
  if (value.trim() === "" || !Number.isInteger(n) || n < 0 || n > 65535) {
    throw new UsageError(`--port: expected an integer in [0, 65535] (0: any free port), got "${value}"`);
  }
  return n;
}

export async function startServer(port: number, host = "127.0.0.1"): Promise<Server> {
  if (!existsSync(join(webRoot, "index.html"))) {
    throw new UsageError(`serve: the what-if page is not built (${webRoot} is missing): run npm run build`);
  }
  // Loaded here: Node's HTTP modules cost every other command's start-up a few ms.
  const { createServer } = await import("node:http");
  const server = createServer((req, res) => {
    // A request the client got wrong is answered and forgotten: it must not end the server.
    let path: string;
    try {
      path = new URL(req.url ?? "/", "http://localhost").pathname;
    } catch {
      res.writeHead(400, { "content-type": "text/plain" }).end("bad request target\n");
      return;
    }
    const entry = files[path];
    if (!entry || (req.method !== "GET" && req.method !== "HEAD")) {
      res.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
      return;
    }
    let body: Buffer;
    try {
      body = readFileSync(join(webRoot, entry.file));
    } catch (e) {
      res.writeHead(500, { "content-type": "text/plain" }).end(`cannot read ${entry.file} (${(e as NodeJS.ErrnoException).code ?? "error"}): run npm run build\n`);
      return;
    }
    res.writeHead(200, { "content-type": entry.type, "cache-control": "no-cache" }).end(req.method === "HEAD" ? undefined : body);
  });
  return new Promise((resolve, reject) => {
    server.once("error", (e: NodeJS.ErrnoException) => {
      const why =
        e.code === "EADDRINUSE" ? "is in use" : e.code === "EACCES" ? "needs privileges this user lacks" : `cannot be listened on (${e.code ?? e.message})`;
      reject(new UsageError(`serve: port ${port} ${why}; choose another with --port`));
    });
    server.listen(port, host, () => resolve(server));
  });
}

export function registerServe(program: Command): void {
  program
    .command("serve")
    .description("serve the what-if page: the simulator in the browser, plots that follow the controls")
    .option("--port <n>", "port on 127.0.0.1 (0: any free port)", parsePort, 8080)
    .action(async (opts: { port: number }) => {
      const server = await startServer(opts.port);
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : opts.port;
      process.stdout.write(`livemig: the what-if page is at http://127.0.0.1:${port}/ (Ctrl-C to stop)\n`);
    });
}
