/** The CLI from source, as bin/keyline-signer.js runs it from dist (tests spawn it with tsx). */
import { main } from '../../src/cli/main.js';

await main();
