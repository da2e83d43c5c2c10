/**
 * The stream and consumer a cluster pool and its nodes share, made when
 * missing: a work-queue stream (a chunk is removed once a node acks it) and
 * one durable pull consumer that every node pulls from.
 *
 * @module
 */

import { AckPolicy, type JetStreamManager, RetentionPolicy, StorageType } from "@nats-io/jetstream";
import { chunkSubject } from "./_messages.ts";

/** Makes the work-queue stream unless it exists. */
export async function ensureStream(jsm: JetStreamManager, stream: string): Promise<void> {
  try {
    await jsm.streams.info(stream);
    return;
  } catch {
    // Missing: made below. Two pools may race to make it; the same config is accepted twice.
  }
  await jsm.streams.add({
    name: stream,
    subjects: [chunkSubject(stream)],
    retention: RetentionPolicy.Workqueue,
    storage: StorageType.File,
    // Nats-Msg-Id: a chunk published twice (a retried publish) is stored once.
    duplicate_window: 120_000_000_000,
  });
}

/** Makes the nodes' consumer unless it exists. */
export async function ensureConsumer(
  jsm: JetStreamManager,
  { stream, consumer, leaseMs, maxDeliver }: {
    stream: string;
    consumer: string;
    leaseMs: number;
    maxDeliver: number;
  },
): Promise<void> {
  try {
    await jsm.consumers.info(stream, consumer);
    return;
  } catch {
    // Missing: made below.
  }
  await jsm.consumers.add(stream, {
    durable_name: consumer,
    ack_policy: AckPolicy.Explicit,
    ack_wait: leaseMs * 1_000_000,
    max_deliver: maxDeliver,
    // A node asks for one chunk per free slot; none waits for it in a buffer.
    max_waiting: 512,
  });
}
