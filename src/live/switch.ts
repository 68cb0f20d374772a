// The guest network: a small learning switch over UDP. Each UDP endpoint that sends to it is
// a port; a frame's source MAC teaches the switch which port that MAC is behind (the newest
// wins, which is what an announcement after migration relies on); a frame goes to its
// destination MAC's port, or to every other port when the MAC is unknown or broadcast.

import { createSocket, type RemoteInfo, type Socket } from "node:dgram";
import { macKey } from "./frame.js";

export class LearningSwitch {
  private socket: Socket | undefined;
  private readonly ports = new Map<string, RemoteInfo>();
  private readonly table = new Map<string, string>();
  /** Times a MAC moved to another port (a migrated guest announcing itself). */
  moves = 0;

  async listen(host: string): Promise<number> {
    const socket = createSocket("udp4");
    socket.on("message", (frame, from) => this.forward(frame, from));
    socket.on("error", () => undefined);
    await new Promise<void>((resolve, reject) => {
      socket.once("error", reject);
      socket.bind(0, host, () => resolve());
    });
    this.socket = socket;
    return socket.address().port;
  }

  private forward(frame: Buffer, from: RemoteInfo): void {
    if (frame.length < 14) return;
    const port = `${from.address}:${from.port}`;
    this.ports.set(port, from);
    const src = macKey(frame, 6);
    const known = this.table.get(src);
    if (known !== port) {
      if (known !== undefined) this.moves++;
      this.table.set(src, port);
    }
    const out = this.table.get(macKey(frame, 0));
    if (out !== undefined) {
      if (out !== port) this.sendTo(frame, this.ports.get(out)!);
      return;
    }
    for (const [key, info] of this.ports) if (key !== port) this.sendTo(frame, info);
  }

  private sendTo(frame: Buffer, to: RemoteInfo): void {
    this.socket?.send(frame, to.port, to.address);
  }

  close(): void {
    this.socket?.close();
    this.socket = undefined;
  }
}
