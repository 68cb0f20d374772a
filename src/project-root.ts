// Where livemig's own files are (package.json, scenarios/, dist/web/, guest/): the nearest
// directory above the running file with a package.json, whether that file is the source
// (src/), the compiled tree (dist/src/) or the bundled command (dist/cli/).

import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export function projectRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, "package.json"))) {
    const up = dirname(dir);
    if (up === dir) throw new Error("livemig: cannot find the project root (package.json)");
    dir = up;
  }
  return dir;
}
