/**
 * The program a worker process runs: the same worker program as a thread's
 * (`../main.ts` and its pieces), on a channel over its standard input and
 * output. `ProcessTransport` starts it with `deno run`, with the pool's
 * permissions as its flags.
 *
 * @module
 */

import { workerMain } from "../main.ts";
import { stdioChannel } from "./stdio_channel.ts";

workerMain(stdioChannel());
