// The registry of device strategies: one file each.

import type { Strategy } from "./strategy.js";
import { vdpa } from "./vdpa.js";
import { vf } from "./vf.js";
import { vfEnlightened } from "./vf-enlightened.js";
import { vfFailover } from "./vf-failover.js";
import { vfTracked } from "./vf-tracked.js";
import { virtio } from "./virtio.js";

const all = [virtio, vf, vfFailover, vfEnlightened, vfTracked, vdpa] as unknown as Strategy[];

export const strategies: Record<string, Strategy> = Object.fromEntries(all.map((s) => [s.kind, s]));
