#!/usr/bin/env node
// Launcher of the keyline-devnet CLI: the code is the built dist/cli/main.js (src/cli/main.ts).
import { main, reportFatal } from '../dist/cli/main.js';

await main().catch(reportFatal);
