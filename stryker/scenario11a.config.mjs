// Round 11: src/scenario in two runs of <= 25 minutes each (docs/mutation.md): this one the loader
// (load.ts) and the variants' assembly, scenario11b the units, the schemas and the fleet file's loader.
// `flock /tmp/livemig-measure.lock npx stryker run stryker/scenario11a.config.mjs --concurrency 2 --incremental`.
import { narrowRun } from "./narrow.mjs";

export default narrowRun("scenario11a", ["src/scenario/load.ts", "src/scenario/assemble.ts"], "scenario");
