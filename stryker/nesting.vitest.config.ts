// src/core/nesting.ts's own test, alone (docs/mutation.md, round 9): ctl3 ran it with the controller's neighbours.
import { mutationTests } from "./mutation-tests.ts";

export default mutationTests(["test/nesting.test.ts"]);
