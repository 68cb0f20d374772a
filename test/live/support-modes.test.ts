// The modes the live engine does not build (issue 17): refused before anything starts, naming
// the field, rather than run as something other than what the file says.

import { describe, expect, it } from "vitest";
import { liveProblems } from "../../src/live/support.js";
import { scenario, scenarioYaml } from "../helpers.js";

describe("live engine and QEMU's modes", () => {
  it("refuses post-copy and a VF's state over multifd, naming the field; takes multifd, xbzrle and dirty-limit", () => {
    const with_ = (migration: string, devices?: string) => liveProblems(scenario(scenarioYaml({ memory: "64MiB", workingSet: "16MiB", rate: 1000, migration, devices })));
    expect(with_("multifd: {channels: 2}")).toEqual([]);
    expect(with_("multifd: {channels: 2}", "{kind: vf-tracked, multifdDeviceState: true}")).toEqual([
      "devices.0.multifdDeviceState: the live engine sends the NIC's state on the main connection, not over the multifd channels; simulated only",
    ]);
    expect(with_("postcopy: {after: {passes: 2}}")).toEqual(["migration.postcopy: the live destination resumes the guest only with all of its RAM: post-copy is simulated only"]);
    expect(with_("xbzrle: {cacheSize: 8MiB}")).toEqual([]);
    expect(with_("maxBandwidth: 0")).toEqual([]);
  });
});
