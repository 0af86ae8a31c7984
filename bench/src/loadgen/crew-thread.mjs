// A worker thread does not inherit the process's module hooks: register tsx in this
// thread, then load the crew from its TypeScript source.
import { register } from "tsx/esm/api";

register();
await import("./storm-crew.ts");
