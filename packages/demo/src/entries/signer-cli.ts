/**
 * `keyline-signer` from its TypeScript source (run through tsx), for `--from-source`: the same
 * `main()` that packages/signer-device/bin/keyline-signer.js runs from the built dist.
 */
import { main } from '../../../signer-device/src/cli/main.js';

await main();
