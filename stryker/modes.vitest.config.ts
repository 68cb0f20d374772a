// The tests written for the modes (xbzrle, dirty-limit, their result fields), and nothing else (docs/mutation.md, round 3).
import { mutationTests } from "./mutation-tests.ts";

export default mutationTests(["test/modes/mode-results.test.ts", "test/modes/xbzrle.test.ts", "test/modes/dirty-limit.test.ts", "test/modes/mode-walk.test.ts"]);
