import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseTrace } from "../../src/measure/trace.js";
import { decodeEvent } from "../../src/measure/trace-events.js";
import { traceRole } from "../../src/measure/trace-role.js";

const fixture = (name: string) => readFileSync(new URL(`../fixtures/measure/${name}`, import.meta.url), "utf8");

describe("parseTrace: the log backend's formats", () => {
  it("reads the qemu-devel sample of February 2023 (TID@SEC.USEC) exactly", () => {
    const { value, problems } = parseTrace(fixture("qemu-devel-2023.trace"));
    expect(problems).toEqual([]);
    expect(value.styles).toEqual(["tid@sec.usec"]);
    expect(value.events.map((e) => e.name)).toEqual([
      "vhost_vdpa_dma_map",
      "vhost_vdpa_set_vring_addr",
      "vhost_vdpa_listener_region_add",
      "vhost_vdpa_listener_begin_batch",
      "vhost_vdpa_dma_map",
    ]);
    const first = value.events[0];
    expect(first.tid).toBe(9585);
    // 1676093788 s and 259201 us, in ms
    expect(first.t).toBeCloseTo(1676093788259.201, 3);
    expect(first.decoded).toEqual({
      name: "vhost_vdpa_dma_map", vdpa: "0x7ff13088a190", fd: 16, msgType: 2, asid: 0,
      iova: 0x1000, size: 0x2000, uaddr: 0x55a5a7ff3000, perm: 1, type: 2,
    });
    // Events livemig does not decode keep their raw arguments.
    expect(value.events[1].decoded).toBeUndefined();
    expect(value.events[1].args).toBe(
      "dev: 0x55a5a77cec20 index: 0 flags: 0x0 desc_user_addr: 0x1000 used_user_addr: 0x3000 avail_user_addr: 0x2000 log_guest_addr: 0x0",
    );
    expect(value.events[3].decoded).toEqual({ name: "vhost_vdpa_listener_begin_batch", vdpa: "0x7ff13026d190", fd: 16, msgType: 2, type: 5 });
  });

  it("reads the ISO 8601 timestamps of QEMU after July 2025", () => {
    const { value, problems } = parseTrace("2025-07-21T18:43:28.089797Z vhost_vdpa_suspend dev: 0x55a5a77cec20\n");
    expect(problems).toEqual([]);
    expect(value.styles).toEqual(["iso-8601"]);
    expect(value.events[0].t).toBeCloseTo(Date.UTC(2025, 6, 21, 18, 43, 28) + 89.797, 3);
    expect(value.events[0].decoded).toEqual({ name: "vhost_vdpa_suspend", dev: "0x55a5a77cec20" });
  });

  it("reads a whole second printed without a fraction, as glib does", () => {
    const { value } = parseTrace("2025-07-21T18:43:28Z migrate_set_state new state active\n");
    expect(value.events[0].t).toBe(Date.UTC(2025, 6, 21, 18, 43, 28));
  });

  it("skips the late-2025 message context (workload, program, pid and thread)", () => {
    const text = [
      "2025-09-10T12:00:00.000100Z [vm1] qemu-system-x86_64(772366:main): vhost_vdpa_suspend dev: 0x1",
      "qemu-system-x86_64: (1144713:main): migrate_set_state new state setup",
    ].join("\n");
    const { value } = parseTrace(text);
    expect(value.events.map((e) => [e.name, e.tid])).toEqual([
      ["vhost_vdpa_suspend", 772366],
      ["migrate_set_state", 1144713],
    ]);
    expect(value.events[1].decoded).toEqual({ name: "migrate_set_state", state: "setup" });
  });

  it("keeps records without a timestamp and says why they cannot be timed", () => {
    const { value, problems } = parseTrace("vhost_vdpa_suspend dev: 0x1\nvhost_vdpa_suspend dev: 0x2\n");
    expect(value.styles).toEqual(["none"]);
    expect(value.events.map((e) => e.t)).toEqual([undefined, undefined]);
    expect(problems.map((p) => [p.line, p.severity])).toEqual([[1, "warning"], [2, "warning"]]);
    expect(problems[0].message).toMatch(/no timestamp.*-msg timestamp=on/);
  });

  it("skips lines that are not trace records, with a warning naming the line", () => {
    const text = "qemu-system-x86_64: warning: host doesn't support requested feature\n9585@1676093788.259201:vhost_vdpa_suspend dev: 0x1\n";
    const { value, problems } = parseTrace(text);
    expect(value.events).toHaveLength(1);
    expect(problems).toEqual([expect.objectContaining({ line: 1, severity: "warning" })]);
  });

  it("joins a record wrapped onto the next line", () => {
    const text = [
      "9585@1676093788.259201:vhost_vdpa_set_vring_enable_one dev: 0x55a5a77cec20, idx: 3, ena",
      "ble: 1, r: 0",
      "9585@1676093788.259301:vhost_vdpa_set_vring_",
      "enable_one dev: 0x55a5a77cec20, idx: 4, enable: 1, r: 0",
    ].join("\n");
    const { value, problems } = parseTrace(text);
    expect(value.events.map((e) => e.decoded)).toEqual([
      { name: "vhost_vdpa_set_vring_enable_one", dev: "0x55a5a77cec20", idx: 3, enable: 1, r: 0 },
      { name: "vhost_vdpa_set_vring_enable_one", dev: "0x55a5a77cec20", idx: 4, enable: 1, r: 0 },
    ]);
    expect(value.events.map((e) => e.line)).toEqual([1, 3]);
    expect(problems.map((p) => p.line)).toEqual([2, 4]);
    expect(problems.every((p) => p.severity === "warning" && /wrapped/.test(p.message))).toBe(true);
  });

  it("splits two records glued together by a lost newline", () => {
    const text = "9585@1676093788.259201:vhost_vdpa_set_vring_enable_one dev: 0x1, idx: 0, enable: 1, r: 09585@1676093788.259301:vhost_vdpa_suspend dev: 0x1\n";
    const { value } = parseTrace(text);
    expect(value.events.map((e) => e.name)).toEqual(["vhost_vdpa_set_vring_enable_one", "vhost_vdpa_suspend"]);
    expect(value.events[0].decoded).toMatchObject({ idx: 0, enable: 1, r: 0 });
    expect(value.events[1].t).toBeCloseTo(1676093788259.301, 3);
  });

  it("keeps a truncated known event undecoded, with a warning that names its format", () => {
    const { value, problems } = parseTrace("9585@1676093788.259201:vhost_vdpa_set_vring_enable_one dev: 0x1, idx: 3\n");
    expect(value.events[0].decoded).toBeUndefined();
    expect(problems[0]).toMatchObject({ line: 1, severity: "warning" });
    expect(problems[0].message).toContain('"dev: %p, idx: %u, enable: %u, r: %d"');
  });

  it("refuses a timestamp without its six digits of microseconds, naming the line", () => {
    const { problems } = parseTrace(fixture("malformed/bad-timestamp.trace"));
    expect(problems).toEqual([expect.objectContaining({ line: 3, severity: "error" })]);
    expect(problems[0].message).toMatch(/expected a timestamp "TID@SEC.USEC:".*got "9585@1676093788.2905:"/);
  });

  it("refuses an impossible date", () => {
    const { problems } = parseTrace("2025-13-40T18:43:28.089797Z vhost_vdpa_suspend dev: 0x1\n");
    expect(problems[0]).toMatchObject({ line: 1, severity: "error" });
  });

  it("says so when a file holds no trace record at all", () => {
    const { value, problems } = parseTrace("hello\nworld\n");
    expect(value.events).toEqual([]);
    expect(problems.some((p) => p.severity === "error" && p.line === 0)).toBe(true);
  });

  it("reads CRLF line ends", () => {
    const { value, problems } = parseTrace("9585@1676093788.259201:migrate_set_state new state active\r\n");
    expect(problems).toEqual([]);
    expect(value.events[0].decoded).toEqual({ name: "migrate_set_state", state: "active" });
  });
});

describe("decodeEvent: the events livemig uses", () => {
  it("decodes migration events in the formats of §12", () => {
    expect(decodeEvent("migration_bitmap_sync_end", "dirty_pages 10223616")).toEqual({ name: "migration_bitmap_sync_end", dirtyPages: 10223616 });
    expect(decodeEvent("migrate_pending_exact", "exact pending size 8654848 (pre = 8654848 post=0)")).toEqual({
      name: "migrate_pending_exact", pending: 8654848, pre: 8654848, post: 0,
    });
    expect(decodeEvent("vmstate_downtime_load", "type=non-iterable idstr=0000:00:03.0/virtio-net instance_id=0 downtime=3594")).toEqual({
      name: "vmstate_downtime_load", type: "non-iterable", idstr: "0000:00:03.0/virtio-net", instanceId: 0, downtimeUs: 3594,
    });
    expect(decodeEvent("vmstate_downtime_checkpoint", "src-downtime-start")).toEqual({ name: "vmstate_downtime_checkpoint", checkpoint: "src-downtime-start" });
  });

  it("decodes migrate_transferred with and without switchover_bw (older QEMU)", () => {
    expect(decodeEvent("migrate_transferred", "transferred 38021120 time_spent 100 bandwidth 380211 switchover_bw 0 max_size 114063300")).toMatchObject({
      transferred: 38021120, timeSpent: 100, bandwidth: 380211, switchoverBw: 0, maxSize: 114063300,
    });
    const old = decodeEvent("migrate_transferred", "transferred 38021120 time_spent 100 bandwidth 380211 max_size 114063300");
    expect(old).toMatchObject({ transferred: 38021120, maxSize: 114063300 });
    expect(old && "switchoverBw" in old).toBe(false);
  });

  it("decodes vhost-vdpa events, including newer builds' vdpa_shared", () => {
    expect(decodeEvent("vhost_vdpa_listener_commit", "vdpa_shared:0x7ff13026d190 fd: 16 msg_type: 2 type: 6")).toEqual({
      name: "vhost_vdpa_listener_commit", vdpa: "0x7ff13026d190", fd: 16, msgType: 2, type: 6,
    });
    expect(decodeEvent("vhost_vdpa_get_vring_base", "dev: 0x1 index: 0 num: 41877")).toEqual({ name: "vhost_vdpa_get_vring_base", dev: "0x1", index: 0, num: 41877 });
    expect(decodeEvent("vhost_vdpa_add_status", "dev: 0x1 status: 0xf")).toEqual({ name: "vhost_vdpa_add_status", dev: "0x1", status: 15 });
    expect(decodeEvent("vhost_vdpa_dev_start", "dev: 0x1 started: 1")).toEqual({ name: "vhost_vdpa_dev_start", dev: "0x1", started: 1 });
  });

  it("decodes vfio and savevm events", () => {
    expect(decodeEvent("vfio_migration_set_state", " (0000:17:00.1) new state STOP_COPY, recover state ERROR")).toEqual({
      name: "vfio_migration_set_state", device: "0000:17:00.1", state: "STOP_COPY", recoverState: "ERROR",
    });
    expect(decodeEvent("vfio_load_state_device_data", " (0000:17:00.1) size 0x1000 ret 0")).toMatchObject({ size: 4096, ret: 0 });
    expect(decodeEvent("vfio_load_state_device_data", " (0000:17:00.1) size 4096 ret 0")).toMatchObject({ size: 4096, ret: 0 });
    expect(decodeEvent("savevm_section_end", "0000:00:03.0/virtio-net, section_id 7 -> 0")).toEqual({
      name: "savevm_section_end", id: "0000:00:03.0/virtio-net", sectionId: 7, ret: 0,
    });
  });
});

describe("traceRole", () => {
  const role = (text: string) => traceRole(parseTrace(text).value).role;

  it("calls a trace with vhost_vdpa_suspend or src-* checkpoints a source", () => {
    expect(role("1@1.000000:vhost_vdpa_suspend dev: 0x1")).toBe("source");
    expect(role("1@1.000000:vmstate_downtime_checkpoint src-downtime-start")).toBe("source");
  });

  it("calls a trace with dst-* checkpoints, or vring enables and no suspend, a destination", () => {
    expect(role("1@1.000000:vmstate_downtime_checkpoint dst-precopy-bh-enter")).toBe("destination");
    expect(role("1@1.000000:vhost_vdpa_set_vring_enable_one dev: 0x1, idx: 0, enable: 1, r: 0")).toBe("destination");
    // a source enables its rings too (at boot, and when it restarts with shadow virtqueues)
    expect(role("1@1.000000:vhost_vdpa_set_vring_enable_one dev: 0x1, idx: 0, enable: 1, r: 0\n1@2.000000:vhost_vdpa_suspend dev: 0x1")).toBe("source");
  });

  it("falls back on which side sends and which loads, else says it cannot tell", () => {
    expect(role("1@1.000000:migrate_pending_estimate estimate pending size 1 (pre = 1 post=0)")).toBe("source");
    expect(role("1@1.000000:vmstate_downtime_load type=iterable idstr=ram instance_id=0 downtime=1")).toBe("destination");
    expect(role(fixture("qemu-devel-2023.trace"))).toBe("unknown");
  });
});
