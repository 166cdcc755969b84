// Preloaded (node --require) into a tito process by tests/cli/help.test.ts: when the process
// exits, it writes the list of files it loaded to $TITO_LOADED_FILES.
"use strict";
process.on("exit", () => {
  require("node:fs").writeFileSync(
    process.env.TITO_LOADED_FILES,
    JSON.stringify(Object.keys(require.cache)),
  );
});
