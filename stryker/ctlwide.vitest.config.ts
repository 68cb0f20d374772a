// The tests ctl10c runs (docs/mutation.md, round 10): the core set (core.vitest.config.ts: the modes' and the
// strategies' whole-migration tests, which reach the controller's post-copy, multifd and device-state paths the
// ctl set does not) and the ctl set's own files, one module graph for all (`isolate: false`, as the ctl set).
import core from "./core.vitest.config.ts";
import ctl from "./ctl.vitest.config.ts";
import { mutationTests } from "./mutation-tests.ts";

export default mutationTests([...new Set([...(core.test?.include ?? []), ...(ctl.test?.include ?? [])])]);
