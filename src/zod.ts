// zod as livemig uses it, for every schema: zod/mini, whose schemas are plain objects (cheap to
// build when a command starts, and bundled without the rest of zod: docs/benchmarks.md, start-up),
// with classic zod's English messages ("Too small: expected string to have >=1 characters").

import { config } from "zod/mini";
import { en } from "zod/locales";

config(en());

export * from "zod/mini";
