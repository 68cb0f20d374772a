import { describe, expect, it } from "vitest";
import { compileFormat } from "../../src/measure/printf.js";

describe("compileFormat", () => {
  it("reads back unsigned, signed and pointer conversions", () => {
    const decode = compileFormat("dev: %p, idx: %u, enable: %u, r: %d");
    expect(decode("dev: 0x55a5a77cec20, idx: 3, enable: 1, r: -22")).toEqual(["0x55a5a77cec20", 3, 1, -22]);
  });

  it("reads hexadecimal after a literal 0x as a number", () => {
    const decode = compileFormat("iova: 0x%lx size: 0x%lx perm: 0x%x");
    // 0x8c0000000 = 35 GiB
    expect(decode("iova: 0x100000000 size: 0x8c0000000 perm: 0x3")).toEqual([2 ** 32, 35 * 2 ** 30, 3]);
  });

  it("accepts glibc's (nil) for a NULL pointer", () => {
    expect(compileFormat("dev: %p")("dev: (nil)")).toEqual(["(nil)"]);
  });

  it("lets %s stop at the literal that follows it", () => {
    const decode = compileFormat("type=%s idstr=%s instance_id=%d downtime=%ld");
    expect(decode("type=non-iterable idstr=0000:00:03.0/virtio-net instance_id=0 downtime=3594")).toEqual([
      "non-iterable",
      "0000:00:03.0/virtio-net",
      0,
      3594,
    ]);
  });

  it("treats %% as a literal percent sign", () => {
    expect(compileFormat("%d%% done")("42% done")).toEqual([42]);
  });

  it("refuses arguments that are cut short or carry the wrong kind of value", () => {
    const decode = compileFormat("dev: %p, idx: %u, enable: %u, r: %d");
    expect(decode("dev: 0x55a5a77cec20, idx: 3, ena")).toBeUndefined();
    expect(decode("dev: 0x55a5a77cec20, idx: three, enable: 1, r: 0")).toBeUndefined();
  });

  it("tolerates the leading blank of vfio formats being present or not", () => {
    const decode = compileFormat(" (%s) state %s");
    expect(decode(" (0000:17:00.1) state STOP_COPY")).toEqual(["0000:17:00.1", "STOP_COPY"]);
    expect(decode("(0000:17:00.1) state STOP_COPY")).toEqual(["0000:17:00.1", "STOP_COPY"]);
  });

  it("decodes an event without arguments from an empty string only", () => {
    const decode = compileFormat("");
    expect(decode("")).toEqual([]);
    expect(decode("unexpected")).toBeUndefined();
  });
});
