#!/usr/bin/env node
// Launcher of the keyline-coordinator CLI: the code is the built dist/cli/main.js (src/cli/main.ts).
import { main } from '../dist/cli/main.js';

process.exitCode = await main();
