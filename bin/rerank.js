#!/usr/bin/env node
// `npx rerank ...`: the compiled CLI (npm ci runs the build through the prepare script).
require('../dist/apps/cli/src/main.js');
