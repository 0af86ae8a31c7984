/**
 * The cluster bus over core NATS: a {@link NatsAdapter} connects each node's `PubSub`
 * and presence tracker to the others, with subjects routed by interest;
 * {@link natsClusterFromEnv} builds one from `NATS_URL`.
 *
 * @packageDocumentation
 * @module @tandem/nats
 */
export { NatsAdapter, type NatsAdapterOptions } from "./nats-adapter.js";
export { type NatsClusterConfig, natsClusterFromEnv } from "./nats-env.js";
export { type Subjects, subjectsFor, subjectToken } from "./subjects.js";
