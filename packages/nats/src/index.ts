/**
 * The cluster bus over core NATS: a {@link NatsAdapter} connects each node's `PubSub`
 * and presence tracker to the others, with subjects routed by interest.
 *
 * @packageDocumentation
 * @module @tandem/nats
 */
export { NatsAdapter, type NatsAdapterOptions } from "./nats-adapter.js";
export { type Subjects, subjectsFor, subjectToken } from "./subjects.js";
