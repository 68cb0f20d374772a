// Which end of a migration a trace was recorded on. The vdpa and checkpoint events decide;
// failing those, events only one side emits (the source sends, the destination loads).

import type { Trace, TraceEvent } from "./trace.js";

export type TraceRole = "source" | "destination" | "unknown";

export interface RoleInfo {
  role: TraceRole;
  because: string;
}

const checkpoint = (e: TraceEvent, prefix: string) =>
  e.decoded?.name === "vmstate_downtime_checkpoint" && e.decoded.checkpoint.startsWith(prefix);

const isEnable = (e: TraceEvent) =>
  (e.decoded?.name === "vhost_vdpa_set_vring_enable_one" && e.decoded.enable === 1) || e.decoded?.name === "vhost_vdpa_set_vring_ready";

const SENDS = new Set(["migrate_pending_estimate", "migrate_pending_exact", "migrate_transferred", "migration_bitmap_sync_end", "savevm_state_setup", "vmstate_downtime_save"]);
const LOADS = new Set(["vmstate_downtime_load", "qemu_loadvm_state_section", "loadvm_state_setup", "vfio_load_state_device_data", "process_incoming_migration_co_end"]);

export function traceRole(trace: Trace): RoleInfo {
  const find = (test: (e: TraceEvent) => boolean) => trace.events.find(test);
  const suspend = find((e) => e.name === "vhost_vdpa_suspend");
  const src = find((e) => checkpoint(e, "src-"));
  const dst = find((e) => checkpoint(e, "dst-"));
  const evidence = suspend ? `vhost_vdpa_suspend at line ${suspend.line}` : src ? `checkpoint ${src.args.trim()} at line ${src.line}` : undefined;
  if (evidence) {
    const both = dst ? `; it also has ${dst.args.trim()} (line ${dst.line}): one trace for both ends?` : "";
    return { role: "source", because: evidence + both };
  }
  if (dst) return { role: "destination", because: `checkpoint ${dst.args.trim()} at line ${dst.line}` };
  const enable = find(isEnable);
  if (enable) return { role: "destination", because: `vring enabled at line ${enable.line} and no vhost_vdpa_suspend` };
  const sends = find((e) => SENDS.has(e.name));
  if (sends) return { role: "source", because: `${sends.name} at line ${sends.line}` };
  const loads = find((e) => LOADS.has(e.name));
  if (loads) return { role: "destination", because: `${loads.name} at line ${loads.line}` };
  return { role: "unknown", because: "no vhost_vdpa_suspend, vring enable, downtime checkpoint or migration stream event" };
}
