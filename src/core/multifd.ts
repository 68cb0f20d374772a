// QEMU's multifd (migration/multifd.c, multifd-nocomp.c, multifd-zero-page.c, QEMU 10.0):
// the migration thread walks the dirty bitmap and only queues page offsets; each full packet
// (MULTIFD_PACKET_SIZE, 512 KiB of pages) goes to the first idle channel thread from the one
// after the last used (multifd_send: it waits until some channel is idle, then scans). That
// thread finds the zero pages (zero-page-detection=multifd, the default since 9.0), then writes
// the packet header, the offsets and the normal pages to its own socket. Each time the bitmap
// walk passes the end of RAM (find_dirty_block), at setup and at completion, the migration
// thread sends what it has queued and waits until every channel has sent what it was given and
// then a packet with MULTIFD_FLAG_SYNC (multifd_ram_flush_and_sync, multifd_send_sync_main).
// Here the migration thread spends its per-page queueing time (walking the bitmap, clearing
// the bit, multifd_queue_page storing the offset) before it hands a packet over; the channels
// share the one link (a packet waits for the link while another is on it), each has its own
// CPU work (the zero check, then the writev of the packet straight from guest memory and, on
// the destination, the readv into guest memory: multifd_nocomp_send_prepare, multifd_nocomp_recv),
// and the threads share the host's cores. docs/model.md has the rules and their sources.

import { PageRuns } from "./bitmap.js";
import type { Device } from "./device.js";
import type { Channel, Clock, GuestRam, StreamPayload } from "./ports.js";

/** MULTIFD_PACKET_SIZE (migration/multifd.h). */
export const multifdPacketBytes = 512 * 1024;
/**
 * sizeof(MultiFDPacket_t) without its offsets (migration/multifd.h, packed): magic, version,
 * flags (12 B), pages_alloc, normal_pages, next_packet_size (12 B), packet_num (8 B),
 * zero_pages, unused32[1] (8 B), unused64[3] (24 B), ramblock name (256 B).
 */
export const multifdPacketHeaderBytes = 320;
/** One be64 offset slot per page a packet may hold. */
export const multifdOffsetBytes = 8;
/**
 * Cores the migration's threads may use when the scenario does not say: *assumed* a server
 * with 32 cores free for them (the guest's vCPUs are not counted against it).
 */
export const defaultHostCores = 32;

/**
 * Why QEMU 10.0 fails the migration at setup when a device asks for its state over multifd
 * (vfio_multifd_setup, hw/vfio/migration-multifd.c): multifd_device_state_supported() needs the
 * multifd capability (and neither mapped-ram nor multifd compression, which livemig does not
 * model); the device is named by its kind in place of its PCI address.
 */
export function multifdDeviceStateRefusal(devices: Device[], multifd: boolean): string | undefined {
  const d = devices.find((x) => x.multifdDeviceState);
  return d && !multifd ? `${d.kind}: Multifd device transfer requested but unsupported in the current config` : undefined;
}

export function multifdPacketPages(pageSize: number): number {
  return Math.max(1, Math.floor(multifdPacketBytes / pageSize));
}

/**
 * What every packet costs on the wire besides its normal pages, however many pages it holds,
 * a SYNC packet too: p->packet_len, the header and the whole offset array (multifd_send_setup;
 * multifd_ram_prepare_header puts all of it in the packet's first iovec).
 */
export function multifdPacketLen(pageSize: number): number {
  return multifdPacketHeaderBytes + multifdOffsetBytes * multifdPacketPages(pageSize);
}

export interface MultifdOptions {
  channels: number;
  /** Host cores the channel threads share (more threads than cores run slower each). */
  hostCores: number;
  /** The migration thread's time per page it queues (bitmap walk, multifd_queue_page), ms. Absent: none. */
  queueMsPerPage?: number;
  /** One channel's send rate of its packets' bytes (writev, socket, the destination's readv), bytes/ms. Absent: only the link's. */
  sendBytesPerMs?: number;
}

export class MultifdSender {
  /** The last task each channel (its thread) was given, if any. */
  private readonly work: (Promise<void> | undefined)[];
  /** Whether each channel is working on a task (multifd_send's pending_job). */
  private readonly busy: boolean[];
  /** The last packet to get the link: the next one waits for it. */
  private linkTail: Promise<void> | undefined;
  /** multifd_send's next_channel: the scan for an idle channel starts here. */
  private next = 0;
  /** How much slower each channel's CPU work runs when the threads outnumber the cores. */
  private readonly cpuShare: number;
  /** A packet's header and offsets on the wire (a SYNC packet is only that). */
  readonly packetLen: number;

  constructor(
    private readonly clock: Clock,
    private readonly ram: GuestRam,
    /** One per channel (its own socket where the runtime has sockets; the simulator's are one link). */
    private readonly channels: readonly Channel[],
    private readonly options: MultifdOptions,
  ) {
    if (channels.length !== options.channels) throw new Error(`multifd: ${channels.length} channels given for multifd-channels ${options.channels}`);
    this.work = new Array<Promise<void> | undefined>(options.channels).fill(undefined);
    this.busy = new Array<boolean>(options.channels).fill(false);
    // The channel threads and the migration thread, on the cores they may use.
    this.cpuShare = Math.max(1, (options.channels + 1) / options.hostCores);
    this.packetLen = multifdPacketLen(ram.pageSize);
  }

  /**
   * multifd_send: hands the packet to an idle channel (below) and returns; the channel reads and
   * zero-checks the pages, then sends `bytes` on the link.
   */
  async send(runs: PageRuns, bytes: number): Promise<void> {
    const queueMs = (this.options.queueMsPerPage ?? 0) * runs.pages;
    if (queueMs > 0) await this.clock.sleep(queueMs);
    const packet = copyRuns(runs);
    this.give(await this.idleChannel(), (id) => this.channelThread(id, packet, bytes));
  }

  /**
   * A device state packet (multifd_queue_device_state, through multifd_send as a packet of pages
   * is): an idle channel sends it; there are no pages to read. Resolves once it is on the other side.
   */
  async sendDeviceState(bytes: number): Promise<void> {
    const sent = this.give(await this.idleChannel(), (id) => this.onLink(id, bytes));
    await this.clock.join([sent]);
  }

  /**
   * multifd_send_sync_main: each channel, once it has sent what it was given, sends a packet with
   * MULTIFD_FLAG_SYNC (the runtime's `syncPoint` where its channels have one, else `packetLen`
   * bytes on the link); resolves once every channel has. Returns the bytes of those packets
   * (QEMU counts them in multifd-bytes).
   */
  async flush(): Promise<number> {
    const syncs = this.channels.map((c, id) => this.give(id, async () => (c.syncPoint ? c.syncPoint() : this.onLink(id, this.packetLen))));
    await this.clock.join(syncs);
    return this.channels.length * this.packetLen;
  }

  /**
   * multifd_send's choice: once some channel is idle (channels_ready), the first idle one from
   * the one after the last used. Not plain round robin: a channel that is still busy is passed
   * over for a later one that is idle.
   */
  private async idleChannel(): Promise<number> {
    const n = this.channels.length;
    for (;;) {
      for (let k = 0; k < n; k++) {
        const id = (this.next + k) % n;
        if (!this.busy[id]) {
          this.next = (id + 1) % n;
          return id;
        }
      }
      await this.clock.joinAny(this.work.filter((w): w is Promise<void> => w !== undefined));
    }
  }

  /** Starts `task` on channel `id` after what the channel is doing; the channel is busy until it ends. */
  private give(id: number, task: (id: number) => Promise<void>): Promise<void> {
    const before = this.work[id];
    this.busy[id] = true;
    const mine = this.clock.spawn(async () => {
      if (before) await this.clock.join([before]);
      await task(id);
      if (this.work[id] === mine) this.busy[id] = false;
    });
    this.work[id] = mine;
    return mine;
  }

  private async channelThread(id: number, runs: PageRuns, bytes: number): Promise<void> {
    const { clock } = this;
    const start = clock.now();
    const payload = await this.ram.readPages(runs);
    const rate = this.options.sendBytesPerMs;
    if (rate !== undefined && rate > 0) await clock.sleep(bytes / rate);
    const cpu = clock.now() - start;
    if (this.cpuShare > 1 && cpu > 0) await clock.sleep(cpu * (this.cpuShare - 1));
    await this.onLink(id, bytes, payload);
  }

  /** The link carries one packet at a time: this one goes after the one before it, on channel `id`'s socket. */
  private async onLink(id: number, bytes: number, payload?: StreamPayload): Promise<void> {
    const { clock } = this;
    const before = this.linkTail;
    const mine = clock.spawn(async () => {
      if (before) await clock.join([before]);
      await this.channels[id].send(bytes, payload);
    });
    this.linkTail = mine;
    await clock.join([mine]);
  }
}

function copyRuns(runs: PageRuns): PageRuns {
  const out = new PageRuns(Math.max(1, runs.count));
  for (let r = 0; r < runs.count; r++) out.add(runs.starts[r], runs.lengths[r]);
  return out;
}
