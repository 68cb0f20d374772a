// The modes the live engine does not build (issue 17): refused before anything starts, naming
// the field, rather than run as something other than what the file says.

import { describe, expect, it } from "vitest";
import { liveProblems } from "../../src/live/support.js";
import { scenario, scenarioYaml } from "../helpers.js";

describe("live engine and QEMU's modes", () => {
  it("refuses multifd and post-copy, naming the field; takes xbzrle and dirty-limit", () => {
    const with_ = (migration: string) => liveProblems(scenario(scenarioYaml({ memory: "64MiB", workingSet: "16MiB", rate: 1000, migration })));
    expect(with_("multifd: {channels: 2}")).toEqual([
      "migration.multifd: the live engine sends over one socket: multifd's parallel sockets are not built yet (docs/live.md); simulated only",
    ]);
    expect(with_("postcopy: {after: {passes: 2}}")).toEqual(["migration.postcopy: the live destination resumes the guest only with all of its RAM: post-copy is simulated only"]);
    expect(with_("xbzrle: {cacheSize: 8MiB}")).toEqual([]);
    expect(with_("maxBandwidth: 0")).toEqual([]);
  });
});
