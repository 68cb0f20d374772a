// QEMU's multifd (migration/multifd.c, multifd-nocomp.c, multifd-zero-page.c, QEMU 10.0):
// the migration thread walks the dirty bitmap and only queues page offsets; each full packet
// (MULTIFD_PACKET_SIZE, 512 KiB of pages) goes to the next idle channel thread, round robin
// (multifd_send). That thread finds the zero pages (zero-page-detection=multifd, the default
// since 9.0), then writes the packet header, the offsets and the normal pages to its own
// socket. At the end of each round and at completion the migration thread waits until every
// channel has sent what it was given (multifd_ram_flush_and_sync / multifd_send_sync_main).
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
 * MultiFDPacket_t without its offsets: magic, version, flags (12 B), pages_alloc, normal_pages,
 * next_packet_size (12 B), packet_num (8 B), zero_pages + reserved (8 B), reserved (24 B),
 * ramblock name (256 B).
 */
export const multifdPacketHeaderBytes = 324;
/** One be64 offset per page in the packet, normal or zero; a zero page sends nothing else. */
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
  /** The packet each channel is working on (its thread), if any. */
  private readonly work: (Promise<void> | undefined)[];
  /** The last packet to get the link: the next one waits for it. */
  private linkTail: Promise<void> | undefined;
  private next = 0;
  /** How much slower each channel's CPU work runs when the threads outnumber the cores. */
  private readonly cpuShare: number;

  constructor(
    private readonly clock: Clock,
    private readonly ram: GuestRam,
    /** One per channel (its own socket where the runtime has sockets; the simulator's are one link). */
    private readonly channels: readonly Channel[],
    private readonly options: MultifdOptions,
  ) {
    if (channels.length !== options.channels) throw new Error(`multifd: ${channels.length} channels given for multifd-channels ${options.channels}`);
    this.work = new Array<Promise<void> | undefined>(options.channels).fill(undefined);
    // The channel threads and the migration thread, on the cores they may use.
    this.cpuShare = Math.max(1, (options.channels + 1) / options.hostCores);
  }

  /**
   * multifd_send: waits until the next channel (round robin) is idle, then hands it the packet
   * and returns; the channel reads and zero-checks the pages, then sends `bytes` on the link.
   */
  async send(runs: PageRuns, bytes: number): Promise<void> {
    const queueMs = (this.options.queueMsPerPage ?? 0) * runs.pages;
    if (queueMs > 0) await this.clock.sleep(queueMs);
    const id = this.next;
    this.next = (this.next + 1) % this.work.length;
    const busy = this.work[id];
    if (busy) await this.clock.join([busy]);
    const packet = copyRuns(runs);
    this.work[id] = this.clock.spawn(() => this.channelThread(id, packet, bytes));
  }

  /**
   * A device state packet (multifd_queue_device_state): the next channel (round robin) sends it;
   * there are no pages to read. Resolves once it is on the other side.
   */
  async sendDeviceState(bytes: number): Promise<void> {
    const id = this.next;
    this.next = (this.next + 1) % this.work.length;
    const busy = this.work[id];
    if (busy) await this.clock.join([busy]);
    const sent = this.clock.spawn(() => this.onLink(id, bytes));
    this.work[id] = sent;
    await this.clock.join([sent]);
  }

  /**
   * multifd_send_sync_main: until every channel has sent what it was given, then each channel's
   * packet with MULTIFD_FLAG_SYNC (where the runtime's channels carry one: `syncPoint`).
   */
  async flush(): Promise<void> {
    const busy = this.work.filter((w): w is Promise<void> => w !== undefined);
    this.work.fill(undefined);
    if (busy.length > 0) await this.clock.join(busy);
    for (const c of this.channels) await c.syncPoint?.();
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
