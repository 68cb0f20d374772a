// The registry of device strategies: one file each.

import type { Strategy } from "./strategy.js";
import { virtio } from "./virtio.js";

export const strategies: Record<string, Strategy> = {
  [virtio.kind]: virtio as unknown as Strategy,
};
