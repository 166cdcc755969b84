#!/usr/bin/env node
// The tito command. The CLI is written in TypeScript and run through tsx's CommonJS
// loader, so there is no separate compile step between editing tito and using it.
"use strict";
require("tsx/cjs");
require("../src/cli.ts");
