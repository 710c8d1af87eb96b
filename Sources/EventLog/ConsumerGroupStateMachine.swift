/// Membership and partition assignment of the consumer groups of an in-process log (in-memory
/// and embedded). Every membership change starts a new generation; members compare generations
/// on each poll and pick up their new assignment.
///
/// Assignment is Kafka's range strategy: per topic, the sorted partitions are split into
/// contiguous ranges over the members subscribed to it, sorted by member id.
package struct ConsumerGroupStateMachine: Sendable {
    private var members: [String: [String]] = [:]
    /// Increases on every join and leave.
    package private(set) var generation = 0

    package init() {}

    /// Adds a member subscribed to `topics`.
    package mutating func join(member: String, topics: [String]) {
        members[member] = topics
        generation += 1
    }

    /// Removes a member; its partitions move to the others.
    package mutating func leave(member: String) {
        if members.removeValue(forKey: member) != nil { generation += 1 }
    }

    /// Whether `member` is in the group.
    package func contains(member: String) -> Bool { members[member] != nil }

    /// The partitions `member` owns, given each topic's partition count.
    package func assignment(of member: String, partitionCounts: [String: Int]) -> Set<TopicPartition> {
        guard let topics = members[member] else { return [] }
        var owned: Set<TopicPartition> = []
        for topic in topics {
            let subscribers = members.filter { $0.value.contains(topic) }.keys.sorted()
            guard let index = subscribers.firstIndex(of: member), let count = partitionCounts[topic] else { continue }
            let base = count / subscribers.count
            let extra = count % subscribers.count
            let start = index * base + min(index, extra)
            let length = base + (index < extra ? 1 : 0)
            for partition in start..<(start + length) {
                owned.insert(TopicPartition(topic: topic, partition: partition))
            }
        }
        return owned
    }
}
