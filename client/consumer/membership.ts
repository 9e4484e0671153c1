// The seam where consumer groups will plug in. A Membership answers two questions for the consumer: which
// partitions of the subscribed topics are mine, and where does each start. Without groups (today) the answer is
// "all of them" and "nowhere known": every partition is assigned, and positions come from the subscription's
// fromBeginning or auto.offset.reset. A group member (the KIP-848 model: broker-side assignment, heartbeats off
// the user's path) will implement the same interface with the coordinator's assignment and committed offsets,
// and tell the consumer when its assignment changes.
import type { Cluster } from "../cluster.ts";
import type { PartitionAssignment } from "./fetcher.ts";

/** Decides a subscription's partitions and their committed starting offsets. */
export interface Membership {
  /** The partitions of `topics` this consumer reads, each with a committed offset when one is known. */
  assignmentFor(topics: readonly string[], options: { allowAutoTopicCreation: boolean }): Promise<PartitionAssignment[]>;
}

/** No group: every partition of every subscribed topic, with no committed offsets. */
export class StandaloneMembership implements Membership {
  readonly #cluster: Pick<Cluster, "partitionsFor">;

  constructor(cluster: Pick<Cluster, "partitionsFor">) {
    this.#cluster = cluster;
  }

  /** Every partition of `topics`, in topic then partition order. */
  async assignmentFor(topics: readonly string[], options: { allowAutoTopicCreation: boolean }): Promise<PartitionAssignment[]> {
    const assignments: PartitionAssignment[] = [];
    for (const topic of topics) {
      const partitions = await this.#cluster.partitionsFor(topic, { allowAutoTopicCreation: options.allowAutoTopicCreation });
      for (const entry of partitions) assignments.push({ topic, partition: entry.partition });
    }
    return assignments;
  }
}
