/**
 * The Pair server: accounts, coding challenges and a shared Yjs editor per challenge,
 * served over one port as a JSON API, the built web app and a Tandem socket.
 *
 * @packageDocumentation
 */

export { loadConfig, type PairConfig } from "./config.js";
export {
  createPairServer,
  DEFAULT_LIVENESS,
  type Liveness,
  type PairServer,
  type PairServerOptions,
} from "./server.js";
