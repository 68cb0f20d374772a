// The guest network in a thread of its own, so the hypervisor's busy moments do not delay
// it: the switch, the prober and the receive traffic. Driven by messages from fabric.ts.

import { parentPort, workerData } from "node:worker_threads";
import { parseMac } from "./frame.js";
import { Prober } from "./prober.js";
import { LearningSwitch } from "./switch.js";
import { TrafficSource } from "./traffic.js";

export type FabricCommand =
  | { cmd: "probe"; target: string; intervalMs: number }
  | { cmd: "traffic"; target: string; framesPerSecond: number; frameBytes: number }
  | { cmd: "stop-probe"; settleMs: number }
  | { cmd: "close" };

const host = (workerData as { host: string }).host;
const sw = new LearningSwitch();
const port = await sw.listen(host);
const address = { host: host === "0.0.0.0" ? "127.0.0.1" : host, port };
const prober = new Prober(parseMac("02:00:00:00:00:01"), address);
const traffic = new TrafficSource(parseMac("02:00:00:00:00:02"), address);
await prober.open();
await traffic.open();
parentPort!.postMessage({ port });

parentPort!.on("message", async (m: FabricCommand) => {
  switch (m.cmd) {
    case "probe":
      prober.start(parseMac(m.target), m.intervalMs);
      break;
    case "traffic":
      traffic.start(parseMac(m.target), m.framesPerSecond, m.frameBytes);
      break;
    case "stop-probe": {
      const record = prober.stop();
      await new Promise((r) => setTimeout(r, m.settleMs)); // replies still in flight
      parentPort!.postMessage({ record, moves: sw.moves });
      break;
    }
    case "close":
      prober.close();
      traffic.close();
      sw.close();
      parentPort!.close();
      break;
  }
});
