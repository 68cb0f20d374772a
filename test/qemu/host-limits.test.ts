// What livemig reads of the host a real QEMU runs on.

import { describe, expect, it } from "vitest";
import { reportsFreePages } from "../../src/qemu/host-limits.js";

describe("reportsFreePages", () => {
  const dir = "/sys/bus/virtio/drivers/virtio_balloon";
  const host = (features: Record<string, string>) => ({
    read: (file: string) => {
      const device = file.slice(dir.length + 1).split("/")[0];
      if (!(device in features)) throw new Error(`ENOENT: ${file}`);
      return features[device] + "\n";
    },
    list: () => ["bind", "uevent", "unbind", ...Object.keys(features)],
  });

  it("reads VIRTIO_BALLOON_F_REPORTING (bit 5) from a balloon device's negotiated features", () => {
    // This machine's balloon: MUST_TELL_HOST off, STATS_VQ and DEFLATE_ON_OOM on, REPORTING on.
    const withReporting = host({ virtio0: "0110010100000000000000000000000010000000" });
    expect(reportsFreePages(withReporting.read, withReporting.list)).toBe(true);
    const statsOnly = host({ virtio0: "0110000100000000000000000000000010000000" });
    expect(reportsFreePages(statsOnly.read, statsOnly.list)).toBe(false);
    const second = host({ virtio0: "0100000000000000", virtio3: "0000010000000000" });
    expect(reportsFreePages(second.read, second.list)).toBe(true);
  });

  it("says no where there is no balloon driver", () => {
    expect(reportsFreePages(() => "", () => { throw new Error("ENOENT"); })).toBe(false);
  });
});
