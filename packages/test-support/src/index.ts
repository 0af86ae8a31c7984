/**
 * What the tests of every Tandem workspace share. Private: not published, not built.
 */

export { silentLogger } from "@tandem/server";
export {
  type ConformanceCluster,
  type ConformanceEngine,
  type ConformingAdapter,
  describeAdapterConformance,
} from "./adapter-conformance.js";
export {
  type BindingsServer,
  roomPresenceSchema,
  startBindingsServer,
} from "./bindings-server.js";
export { eventually, sleep } from "./eventually.js";
export { type PresenceServer, startPresenceServer } from "./presence-server.js";
export { prng } from "./prng.js";
export { type Frame, RawClient } from "./raw-client.js";
export { type LogEntry, recordingLogger } from "./recording-logger.js";
export { roomChannel, socketHandler, type TestAssigns } from "./room-fixture.js";
export { startServer, type TestServer } from "./test-server.js";
