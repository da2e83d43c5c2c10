/**
 * The pool on a NATS JetStream cluster: {@linkcode ClusterPool} on the
 * caller's side, `lib/cluster/node.ts` on each machine that runs tasks. It
 * depends on the NATS client (`@nats-io/transport-node`,
 * `@nats-io/jetstream`); the core library, `@concurrency/pool`, does not.
 *
 * @example
 * ```ts ignore
 * import { ClusterPool } from "./mod.ts";
 *
 * await using pool = await ClusterPool.connect({ servers: "nats://127.0.0.1:4222" });
 * console.log(await pool.map((n: number) => n * n, [1, 2, 3]));
 * ```
 *
 * @module
 */

export {
  ClusterPool,
  type ClusterPoolOptions,
  type ConnectOptions,
  type TlsOptions,
} from "./cluster_pool.ts";
export { type NodeOptions, runNode } from "./node.ts";
export type { NodeInfo } from "./_messages.ts";
export type { NodeHandle } from "./node.ts";
export type {
  AnyFunction,
  ApplyOptions,
  IMapOptions,
  MapOptions,
  ModuleTask,
  Recorder,
  Settled,
  Span,
  SpanKind,
  Task,
  TaskPool,
  WorkerPermissions,
} from "../mod.ts";
