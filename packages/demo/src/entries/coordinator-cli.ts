/**
 * `keyline-coordinator` from its TypeScript source (run through tsx), for `--from-source`: the
 * same `main()` that packages/coordinator/bin/keyline-coordinator.js runs from the built dist.
 */
import { main } from '../../../coordinator/src/cli/main.js';

process.exitCode = await main();
