#!/usr/bin/env node
// The kit's test command (`npm test`, `npm run test:fast`). It runs the static checks (prettier,
// eslint, tsc, `tito build --check`) and every tests/**/*.test.ts file, each in its own process,
// in parallel on a pool of workers, longest first (scripts/test-runner/). One file that crashes
// or hangs cannot hide the results of the others. It ends with the plain line CI reads:
// `N passed, N failed`, and exits non-zero on any failure.
//
// Usage: npm test [-- <substring> ...]     only test files whose path contains a substring
//        npm test -- --no-static            skip the static checks
//        npm test -- --tier=fast            only what needs no kernel (= npm run test:fast)
//        npm test -- --tier=kernel          only the files marked `// test-tier: kernel`
//        npm test -- --workers=N            N workers (default: CPUs, at least 2;
//                                           or TITO_TEST_WORKERS=N)
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
require("tsx/cjs");
const { main } = require("./test-runner/main.ts");
const { KIT_ROOT } = require("@tinytorch-ts/core");
process.exitCode = await main(KIT_ROOT, process.argv.slice(2));
