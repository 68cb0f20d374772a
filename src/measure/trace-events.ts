// The QEMU trace events livemig reads, with their formats copied from QEMU's trace-events
// files (hw/virtio, migration, hw/vfio; 8.2 to 10.x). Where a format changed between
// releases, every known version is listed, newest first; fields a version lacks are absent.

import { compileFormat, type FieldValue, type FormatDecoder } from "./printf.js";

type NoFields = Record<never, never>;
type VringBase = { dev: string; index: number; num: number };
type IotlbBatch = { vdpa: string; fd: number; msgType: number; type: number };
type PendingSize = { pending: number; pre: number; post: number };
type DowntimeEntry = { type: string; idstr: string; instanceId: number; downtimeUs: number };
type SavevmSection = { id: string; sectionId: number };
type VfioDevice = { device: string };
type VfioVmstateChange = { device: string; running: number; reason: string; deviceState: string };

export interface EventFields {
  // hw/virtio/trace-events (vhost-vdpa.c)
  vhost_vdpa_suspend: { dev: string };
  vhost_vdpa_set_vring_enable_one: { dev: string; idx: number; enable: number; r: number };
  /** The older name of set_vring_enable_one; it only ever enabled. */
  vhost_vdpa_set_vring_ready: { dev: string; idx?: number; r?: number };
  vhost_vdpa_dev_start: { dev: string; started: number };
  vhost_vdpa_listener_begin_batch: IotlbBatch;
  vhost_vdpa_listener_commit: IotlbBatch;
  vhost_vdpa_dma_map: {
    vdpa: string; fd: number; msgType: number; asid: number; iova: number; size: number;
    uaddr: number; perm: number; type: number;
  };
  vhost_vdpa_dma_unmap: { vdpa: string; fd: number; msgType: number; asid: number; iova: number; size: number; type: number };
  vhost_vdpa_add_status: { dev: string; status: number };
  vhost_vdpa_get_vring_base: VringBase;
  vhost_vdpa_set_vring_base: VringBase;
  vhost_vdpa_reset_device: { dev: string; status?: number };
  vhost_vdpa_set_owner: { dev: string };
  // migration/trace-events
  migrate_set_state: { state: string };
  migration_bitmap_sync_start: NoFields;
  migration_bitmap_sync_end: { dirtyPages: number };
  migrate_pending_estimate: PendingSize;
  migrate_pending_exact: PendingSize;
  migrate_transferred: { transferred: number; timeSpent: number; bandwidth: number; switchoverBw?: number; maxSize: number };
  migration_completion_vm_stop: { ret: number };
  vmstate_downtime_checkpoint: { checkpoint: string };
  /** Per device, in microseconds. */
  vmstate_downtime_save: DowntimeEntry;
  vmstate_downtime_load: DowntimeEntry;
  savevm_section_start: SavevmSection;
  savevm_section_end: SavevmSection & { ret: number };
  savevm_section_skip: SavevmSection;
  savevm_state_setup: NoFields;
  savevm_state_header: NoFields;
  savevm_state_iterate: NoFields;
  savevm_state_complete_precopy: NoFields;
  savevm_state_cleanup: NoFields;
  savevm_send_ping: { value: number };
  // hw/vfio/trace-events (migration.c)
  vfio_migration_set_state: { device: string; state: string; recoverState?: string };
  vfio_migration_set_device_state: { device: string; state: string };
  vfio_vmstate_change: VfioVmstateChange;
  vfio_vmstate_change_prepare: VfioVmstateChange;
  vfio_save_setup: { device: string; dataBufferSize: number };
  vfio_save_complete_precopy: { device: string; ret: number };
  vfio_state_pending_estimate: { device: string; precopy: number; postcopy: number; precopyInitialSize: number; precopyDirtySize: number };
  vfio_state_pending_exact: {
    device: string; precopy: number; postcopy: number; stopcopySize: number;
    precopyInitialSize?: number; precopyDirtySize?: number;
  };
  vfio_load_state_device_data: { device: string; size: number; ret: number };
  vfio_save_cleanup: VfioDevice;
  vfio_load_cleanup: VfioDevice;
}

export type KnownEventName = keyof EventFields;

/** A decoded event: its name and typed fields; `switch (d.name)` narrows the fields. */
export type Decoded = { [K in KnownEventName]: { name: K } & EventFields[K] }[KnownEventName];

interface Version<K extends KnownEventName> {
  format: string;
  fields: readonly (keyof EventFields[K] & string)[];
}

type Table = { [K in KnownEventName]: readonly Version<K>[] };

const vringBase = [{ format: "dev: %p index: %u num: %u", fields: ["dev", "index", "num"] }] as const;
const iotlbBatch = [
  { format: "vdpa:%p fd: %d msg_type: %u type: %u", fields: ["vdpa", "fd", "msgType", "type"] },
  { format: "vdpa_shared:%p fd: %d msg_type: %u type: %u", fields: ["vdpa", "fd", "msgType", "type"] },
] as const;
const pending = (which: string) =>
  [{ format: `${which} pending size %lu (pre = %lu post=%lu)`, fields: ["pending", "pre", "post"] }] as const;
const downtimeEntry = [
  { format: "type=%s idstr=%s instance_id=%d downtime=%ld", fields: ["type", "idstr", "instanceId", "downtimeUs"] },
] as const;
const section = [{ format: "%s, section_id %u", fields: ["id", "sectionId"] }] as const;
const vfioDevice = [{ format: " (%s)", fields: ["device"] }] as const;
const vmstateChange = [
  { format: " (%s) running %d reason %s device state %s", fields: ["device", "running", "reason", "deviceState"] },
] as const;

const table: Table = {
  vhost_vdpa_suspend: [{ format: "dev: %p", fields: ["dev"] }],
  vhost_vdpa_set_vring_enable_one: [
    { format: "dev: %p, idx: %u, enable: %u, r: %d", fields: ["dev", "idx", "enable", "r"] },
  ],
  vhost_vdpa_set_vring_ready: [
    { format: "dev: %p, idx: %u, r: %d", fields: ["dev", "idx", "r"] },
    { format: "dev: %p", fields: ["dev"] },
  ],
  vhost_vdpa_dev_start: [{ format: "dev: %p started: %d", fields: ["dev", "started"] }],
  vhost_vdpa_listener_begin_batch: iotlbBatch,
  vhost_vdpa_listener_commit: iotlbBatch,
  vhost_vdpa_dma_map: ["vdpa", "vdpa_shared"].map((owner) => ({
    format: `${owner}:%p fd: %d msg_type: %u asid: %u iova: 0x%lx size: 0x%lx uaddr: 0x%lx perm: 0x%x type: %u`,
    fields: ["vdpa", "fd", "msgType", "asid", "iova", "size", "uaddr", "perm", "type"] as const,
  })),
  vhost_vdpa_dma_unmap: ["vdpa", "vdpa_shared"].map((owner) => ({
    format: `${owner}:%p fd: %d msg_type: %u asid: %u iova: 0x%lx size: 0x%lx type: %u`,
    fields: ["vdpa", "fd", "msgType", "asid", "iova", "size", "type"] as const,
  })),
  vhost_vdpa_add_status: [{ format: "dev: %p status: 0x%x", fields: ["dev", "status"] }],
  vhost_vdpa_get_vring_base: vringBase,
  vhost_vdpa_set_vring_base: vringBase,
  vhost_vdpa_reset_device: [
    { format: "dev: %p status: 0x%x", fields: ["dev", "status"] },
    { format: "dev: %p", fields: ["dev"] },
  ],
  vhost_vdpa_set_owner: [{ format: "dev: %p", fields: ["dev"] }],
  migrate_set_state: [{ format: "new state %s", fields: ["state"] }],
  migration_bitmap_sync_start: [{ format: "", fields: [] }],
  migration_bitmap_sync_end: [{ format: "dirty_pages %lu", fields: ["dirtyPages"] }],
  migrate_pending_estimate: pending("estimate"),
  migrate_pending_exact: pending("exact"),
  migrate_transferred: [
    {
      format: "transferred %lu time_spent %lu bandwidth %lu switchover_bw %lu max_size %ld",
      fields: ["transferred", "timeSpent", "bandwidth", "switchoverBw", "maxSize"],
    },
    { format: "transferred %lu time_spent %lu bandwidth %lu max_size %ld", fields: ["transferred", "timeSpent", "bandwidth", "maxSize"] },
  ],
  migration_completion_vm_stop: [{ format: "ret %d", fields: ["ret"] }],
  vmstate_downtime_checkpoint: [{ format: "%s", fields: ["checkpoint"] }],
  vmstate_downtime_save: downtimeEntry,
  vmstate_downtime_load: downtimeEntry,
  savevm_section_start: section,
  savevm_section_end: [{ format: "%s, section_id %u -> %d", fields: ["id", "sectionId", "ret"] }],
  savevm_section_skip: section,
  savevm_state_setup: [{ format: "", fields: [] }],
  savevm_state_header: [{ format: "", fields: [] }],
  savevm_state_iterate: [{ format: "", fields: [] }],
  savevm_state_complete_precopy: [{ format: "", fields: [] }],
  savevm_state_cleanup: [{ format: "", fields: [] }],
  savevm_send_ping: [{ format: "0x%x", fields: ["value"] }],
  vfio_migration_set_state: [
    { format: " (%s) new state %s, recover state %s", fields: ["device", "state", "recoverState"] },
    { format: " (%s) state %s", fields: ["device", "state"] },
  ],
  vfio_migration_set_device_state: [{ format: " (%s) state %s", fields: ["device", "state"] }],
  vfio_vmstate_change: vmstateChange,
  vfio_vmstate_change_prepare: vmstateChange,
  vfio_save_setup: [{ format: " (%s) data buffer size 0x%lx", fields: ["device", "dataBufferSize"] }],
  vfio_save_complete_precopy: [{ format: " (%s) ret %d", fields: ["device", "ret"] }],
  vfio_state_pending_estimate: [
    {
      format: " (%s) precopy 0x%lx postcopy 0x%lx precopy initial size 0x%lx precopy dirty size 0x%lx",
      fields: ["device", "precopy", "postcopy", "precopyInitialSize", "precopyDirtySize"],
    },
  ],
  vfio_state_pending_exact: [
    {
      format: " (%s) precopy 0x%lx postcopy 0x%lx stopcopy size 0x%lx precopy initial size 0x%lx precopy dirty size 0x%lx",
      fields: ["device", "precopy", "postcopy", "stopcopySize", "precopyInitialSize", "precopyDirtySize"],
    },
    { format: " (%s) precopy 0x%lx postcopy 0x%lx stopcopy size 0x%lx", fields: ["device", "precopy", "postcopy", "stopcopySize"] },
  ],
  vfio_load_state_device_data: [
    // newer releases print the size in decimal, older ones in hexadecimal
    { format: " (%s) size %lu ret %d", fields: ["device", "size", "ret"] },
    { format: " (%s) size 0x%lx ret %d", fields: ["device", "size", "ret"] },
  ],
  vfio_save_cleanup: vfioDevice,
  vfio_load_cleanup: vfioDevice,
};

interface CompiledVersion {
  decode: FormatDecoder;
  fields: readonly string[];
}

const compiled = new Map<string, CompiledVersion[]>(
  Object.entries(table).map(([name, versions]) => [
    name,
    (versions as readonly Version<KnownEventName>[]).map((v) => ({ decode: compileFormat(v.format), fields: v.fields })),
  ]),
);

export function isKnownEvent(name: string): name is KnownEventName {
  return compiled.has(name);
}

/** The formats of a known event, for messages ("expected ..."). */
export function formatsOf(name: KnownEventName): string[] {
  return table[name].map((v) => v.format);
}

/** Typed fields of a known event, or undefined when its arguments match none of its formats. */
export function decodeEvent(name: KnownEventName, args: string): Decoded | undefined {
  for (const version of compiled.get(name) ?? []) {
    const values = version.decode(args);
    if (!values) continue;
    const fields: Record<string, FieldValue> = {};
    version.fields.forEach((f, i) => (fields[f] = values[i]));
    return { name, ...fields } as Decoded;
  }
  return undefined;
}
