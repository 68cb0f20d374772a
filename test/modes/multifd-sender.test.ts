// multifd's channels (src/core/multifd.ts; QEMU's multifd_send, multifd_send_sync_main) on a
// clock and link small enough to work out by hand: a page read takes 1 ms of a channel's CPU,
// the link carries 1 byte per ms, one packet at a time. Pages of 2 MiB, so a packet holds one
// page and its header and offsets (a SYNC packet's whole size) are 320 + 8 = 328 B.

import { describe, expect, it } from "vitest";
import { PageRuns } from "../../src/core/bitmap.js";
import type { Device } from "../../src/core/device.js";
import { MultifdSender, multifdDeviceStateRefusal, multifdPacketLen, multifdPacketPages, type MultifdOptions } from "../../src/core/multifd.js";
import type { Channel, GuestRam } from "../../src/core/ports.js";
import { VirtualClock } from "../../src/sim/clock.js";

/** A SYNC packet with 2 MiB pages: MultiFDPacket_t (320 B) and one offset slot. */
const sync = 328;

function setup(channels: number, hostCores = 32, rates: Pick<MultifdOptions, "queueMsPerPage" | "sendBytesPerMs"> = {}) {
  const clock = new VirtualClock();
  const reads: { page: number; t: number }[] = [];
  const ram = {
    pageSize: 2 ** 21,
    async readPages(runs: PageRuns) {
      for (let r = 0; r < runs.count; r++) {
        for (let p = runs.starts[r]; p < runs.starts[r] + runs.lengths[r]; p++) {
          reads.push({ page: p, t: clock.now() });
          await clock.sleep(1);
        }
      }
      return undefined;
    },
  } as unknown as GuestRam;
  const sent: { bytes: number; start: number; end: number }[] = [];
  const channel: Channel = {
    async send(bytes) {
      const start = clock.now();
      await clock.sleep(bytes);
      sent.push({ bytes, start, end: clock.now() });
    },
    async drain() {},
  };
  const sender = new MultifdSender(clock, ram, new Array<Channel>(channels).fill(channel), { channels, hostCores, ...rates });
  return { clock, sender, reads, sent };
}

const runs = (...pages: number[]) => {
  const r = new PageRuns(pages.length);
  for (const p of pages) r.add(p, 1);
  return r;
};

/** Two channels at `sendBytesPerMs`: a 10 B packet of page 0, a 4 B one of page 1, a flush; what the link carried. */
async function tenThenFourThenFlush(sendBytesPerMs: number) {
  const { clock, sender, sent } = setup(2, 32, { sendBytesPerMs });
  await clock.run(async () => {
    await sender.send(runs(0), 10);
    await sender.send(runs(1), 4);
    await sender.flush();
  });
  return sent;
}

describe("multifd channels, worked by hand", () => {
  it("two channels read side by side; the link takes one packet at a time; the third packet goes to the channel that is idle first", async () => {
    const { clock, sender, reads, sent } = setup(2);
    const returned: number[] = [];
    await clock.run(async () => {
      // Packet A (2 pages, 10 B) to channel 0, B (1 page, 10 B) to channel 1, C (1 page, 5 B) to channel 0 again.
      await sender.send(runs(0, 1), 10);
      returned.push(clock.now());
      await sender.send(runs(2), 10);
      returned.push(clock.now());
      await sender.send(runs(3), 5);
      returned.push(clock.now());
      await sender.flush();
      returned.push(clock.now());
    });
    // A reads 0-2 ms, B reads 0-1 ms; B is on the link 1-11, A waits for it: 11-21.
    // C: the scan starts at channel 0 (after B's 1), but both are busy; channel 1 is idle first
    // (11), so C goes there, not to channel 0 (21, plain round robin): reads 11-12, on the link
    // after A, 21-26. flush: channel 0's SYNC packet after A (21) goes on the link after C,
    // 26-354; channel 1's after C, 354-682.
    expect(reads).toEqual([{ page: 0, t: 0 }, { page: 2, t: 0 }, { page: 1, t: 1 }, { page: 3, t: 11 }]);
    expect(sent).toEqual([
      { bytes: 10, start: 1, end: 11 }, { bytes: 10, start: 11, end: 21 }, { bytes: 5, start: 21, end: 26 },
      { bytes: sync, start: 26, end: 354 }, { bytes: sync, start: 354, end: 682 },
    ]);
    expect(returned).toEqual([0, 0, 11, 682]);
  });

  it("the packet is copied when handed over, its runs and nothing else: the caller may reuse its run list at once", async () => {
    const { clock, sender, reads } = setup(2);
    await clock.run(async () => {
      // Two runs apart in one packet; then the list reused for one run that a stale entry (6) would continue.
      const list = new PageRuns(2);
      list.add(3, 1);
      list.add(6, 1);
      await sender.send(list, 1);
      list.clear();
      list.add(5, 1);
      await sender.send(list, 1);
      await sender.flush();
    });
    expect(reads.map((r) => r.page).sort()).toEqual([3, 5, 6]);
  });

  it("device state takes its turn: on an idle channel at once; the packet after it goes to the first idle channel from the next", async () => {
    const { clock, sender, sent, reads } = setup(2);
    const back: number[] = [];
    await clock.run(async () => {
      await sender.sendDeviceState(3); // channel 0, idle: on the link 0-3
      back.push(clock.now());
      await sender.send(runs(0), 1); // channel 1: read 3-4, link 4-5
      await sender.send(runs(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12), 1); // channel 0: read 3-15, link 15-16
      await sender.sendDeviceState(6); // both busy; channel 1 is idle first (5): link 5-11 (channel 0's is not on it yet)
      back.push(clock.now());
      await sender.send(runs(20), 1); // the scan starts at 0, busy until 16; channel 1 is idle (11): reads 11-12, link 12-13
      await sender.flush(); // channel 1's SYNC after its packet: 13-341; channel 0's packet then 341-342, its SYNC 342-670
    });
    expect(back).toEqual([3, 11]);
    expect(reads.find((r) => r.page === 20)!.t).toBe(11);
    expect(sent.map((s) => [s.bytes, s.start, s.end])).toEqual([[3, 0, 3], [1, 4, 5], [6, 5, 11], [1, 12, 13], [sync, 13, 341], [1, 341, 342], [sync, 342, 670]]);
  });

  it("more threads than cores: each channel's reads take (channels + 1) / cores times as long", async () => {
    // 3 channels and the migration thread on 2 cores: a 2-page read takes 2 x 2 = 4 ms before the link.
    // (The idle channels' SYNC packets of the flush go first, 0-656: they cost no CPU here.)
    const data = (s: { bytes: number }[]) => s.filter((x) => x.bytes !== sync);
    const { clock, sender, sent } = setup(3, 2);
    await clock.run(async () => {
      await sender.send(runs(0, 1), 3);
    });
    expect(data(sent)).toEqual([{ bytes: 3, start: 4, end: 7 }]);
    // Cores enough: no slowdown.
    const fast = setup(3, 4);
    await fast.clock.run(async () => {
      await fast.sender.send(runs(0, 1), 3);
    });
    expect(data(fast.sent)).toEqual([{ bytes: 3, start: 2, end: 5 }]);
  });

  it("device state waits for a channel to be idle, takes the first from the next, and returns once it is across", async () => {
    const { clock, sender, sent } = setup(2);
    let back = -1;
    await clock.run(async () => {
      await sender.send(runs(0), 4); // channel 0: read 0-1, link 1-5
      await sender.send(runs(1), 4); // channel 1: read 0-1, link 5-9
      await sender.sendDeviceState(6); // both busy; channel 0 is idle first (5): the link after channel 1's (9-15)
      back = clock.now();
    });
    expect(sent.map((s) => [s.bytes, s.start, s.end])).toEqual([[4, 1, 5], [4, 5, 9], [6, 9, 15]]);
    expect(back).toBe(15);
  });

  it("the migration thread queues each page of a packet before it hands the packet over", async () => {
    // 0.5 ms a page: packet A (4 pages, 4 B) is queued 0-2 and goes to channel 0 at 2 (reads 2-6);
    // packet B (2 pages, 2 B) is queued 2-3 and goes to channel 1 at 3 (reads 3-5, link 5-7). A waits
    // for B on the link: 7-11. The flush at 3: channel 1's SYNC after B (ready at 7, behind A on the
    // link) 11-339, channel 0's after A 339-667.
    const { clock, sender, reads, sent } = setup(2, 32, { queueMsPerPage: 0.5 });
    const returned: number[] = [];
    await clock.run(async () => {
      await sender.send(runs(0, 1, 2, 3), 4);
      returned.push(clock.now());
      await sender.send(runs(4, 5), 2);
      returned.push(clock.now());
      await sender.flush();
      returned.push(clock.now());
    });
    expect(returned).toEqual([2, 3, 667]);
    expect(reads.filter((r) => r.page === 0 || r.page === 4)).toEqual([{ page: 0, t: 2 }, { page: 4, t: 3 }]);
    expect(sent).toEqual([
      { bytes: 2, start: 5, end: 7 }, { bytes: 4, start: 7, end: 11 },
      { bytes: sync, start: 11, end: 339 }, { bytes: sync, start: 339, end: 667 },
    ]);
  });

  it("a channel's own send rate (writev, socket, the destination's readv) comes after its reads, before the link; SYNC packets go without it", async () => {
    // 2 B/ms: channel 0's 10 B packet reads 0-1 and is written 1-6, on the link at 6; channel 1's 4 B
    // packet reads 0-1, is written 1-3 and takes the link 3-7; channel 0's follows it, 7-17. The
    // SYNC packets: channel 1's after its packet (7), behind channel 0's on the link, 17-345;
    // channel 0's 345-673.
    expect(await tenThenFourThenFlush(2)).toEqual([
      { bytes: 4, start: 3, end: 7 }, { bytes: 10, start: 7, end: 17 },
      { bytes: sync, start: 17, end: 345 }, { bytes: sync, start: 345, end: 673 },
    ]);
  });

  it("a send rate of 0 is no rate (as absent): the link's figures alone, not a channel that never finishes", async () => {
    // Without a rate: both channels read 0-1; channel 0's 10 B go first, 1-11, channel 1's 4 B 11-15;
    // channel 0's SYNC packet (its packet done at 11) after them, 15-343, channel 1's 343-671.
    expect(await tenThenFourThenFlush(0)).toEqual([
      { bytes: 10, start: 1, end: 11 }, { bytes: 4, start: 11, end: 15 },
      { bytes: sync, start: 15, end: 343 }, { bytes: sync, start: 343, end: 671 },
    ]);
  });

  it("more threads than cores slow a channel's own work, from its start: its reads and its writes, not the queueing", async () => {
    // 5 channels and the migration thread on 2 cores: 3 times as long. Queued 0-1 (1 ms a page, the
    // migration thread's); channel 0 reads 1-2 and writes 2 B at 1 B/ms 2-4: 3 ms of its work, 2 x 3
    // = 6 more, on the link 10-12. No flush: its SYNC packets would take the link first.
    const { clock, sender, sent } = setup(5, 2, { queueMsPerPage: 1, sendBytesPerMs: 1 });
    await clock.run(async () => {
      await sender.send(runs(0), 2);
      await clock.sleep(20);
    });
    expect(sent).toEqual([{ bytes: 2, start: 10, end: 12 }]);
  });

  it("flush sends every channel's SYNC packet, with nothing given too, each after what its channel was given", async () => {
    const { clock, sender, sent } = setup(2);
    const times: number[] = [];
    const bytes: number[] = [];
    await clock.run(async () => {
      bytes.push(await sender.flush()); // two SYNC packets: 0-328, 328-656
      times.push(clock.now());
      await sender.send(runs(0), 2); // channel 0: read 656-657
      // Channel 1's SYNC goes at once (656-984); channel 0's packet after it (984-986), then its SYNC (986-1314).
      bytes.push(await sender.flush());
      times.push(clock.now());
      bytes.push(await sender.flush()); // 1314-1642, 1642-1970
      times.push(clock.now());
    });
    expect(times).toEqual([656, 1314, 1970]);
    expect(bytes).toEqual([2 * sync, 2 * sync, 2 * sync]);
    expect(sent.map((s) => s.bytes)).toEqual([sync, sync, sync, 2, sync, sync, sync]);
  });
});

describe("multifd channels as separate sockets", () => {
  it("each packet goes to its own channel with the bytes read for it; flush ends each channel with its sync point after its packets", async () => {
    const clock = new VirtualClock();
    // The payload names the pages read, as a runtime's frames would carry them.
    const ram = {
      pageSize: 4096,
      async readPages(runs: PageRuns) {
        const pages: number[] = [];
        for (let r = 0; r < runs.count; r++) for (let p = runs.starts[r]; p < runs.starts[r] + runs.lengths[r]; p++) pages.push(p);
        await clock.sleep(1);
        return [[Uint8Array.from(pages)]];
      },
    } as unknown as GuestRam;
    const log: string[] = [];
    const channel = (id: number): Channel => ({
      async send(bytes, payload) {
        await clock.sleep(1);
        log.push(`${id}:${payload ? Array.from(payload[0][0]).join(",") : "state"}/${bytes}`);
      },
      async drain() {},
      async syncPoint() {
        log.push(`${id}:sync`);
      },
    });
    const sender = new MultifdSender(clock, ram, [channel(0), channel(1), channel(2)], { channels: 3, hostCores: 32 });
    await clock.run(async () => {
      await sender.send(runs(0, 1), 10);
      await sender.send(runs(2), 11);
      await sender.send(runs(3), 12);
      await sender.send(runs(4), 13); // all busy: channel 0 is idle first (2)
      await sender.flush(); // each channel's sync point right after its own packets
      await sender.send(runs(5), 14); // the next round: the scan goes on from channel 1
      await sender.flush();
    });
    expect(log).toEqual([
      "0:0,1/10", "1:2/11", "1:sync", "2:3/12", "2:sync", "0:4/13", "0:sync",
      "0:sync", "2:sync", "1:5/14", "1:sync",
    ]);
  });

  it("refuses a channel list that does not match multifd-channels", () => {
    const clock = new VirtualClock();
    const c: Channel = { async send() {}, async drain() {} };
    expect(() => new MultifdSender(clock, {} as GuestRam, [c, c], { channels: 3, hostCores: 32 })).toThrow(/2 channels given for multifd-channels 3/);
  });
});

describe("multifd's sizes and refusals", () => {
  it("a packet holds 512 KiB of pages: 128 of 4 KiB, at least one of a larger page; its header and offset slots are the same size however many it holds", () => {
    expect(multifdPacketPages(4096)).toBe(128);
    expect(multifdPacketPages(2 * 2 ** 20)).toBe(1);
    // MultiFDPacket_t, packed: 3 x 4 (hdr) + 3 x 4 + 8 + 2 x 4 + 3 x 8 + 256 = 320 B, then 128 be64 slots.
    expect(multifdPacketLen(4096)).toBe(320 + 128 * 8);
    expect(multifdPacketLen(2 * 2 ** 20)).toBe(328);
  });

  it("a device asking for its state over multifd without the capability is refused, naming it", () => {
    const d = (kind: string, multifdDeviceState: boolean): Device => ({ kind, multifdDeviceState, dmaLogged: () => true, stateBytes: () => 0 });
    const devices = [d("virtio", false), d("vf-tracked", true)];
    expect(multifdDeviceStateRefusal(devices, false)).toBe("vf-tracked: Multifd device transfer requested but unsupported in the current config");
    expect(multifdDeviceStateRefusal(devices, true)).toBeUndefined();
    expect(multifdDeviceStateRefusal([d("virtio", false)], false)).toBeUndefined();
  });
});
