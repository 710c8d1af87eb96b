// tributary-kafka-mock: a librdkafka mock cluster in its own process, for tests that run
// Tributary's roles as separate processes (Tests/EndToEndTests). Test support only.
//
//   tributary-kafka-mock [--brokers N] [--partitions P]
//
// Creates the standard topics (the mock has no CreateTopics), prints `READY <bootstrap servers>`
// and then reads commands from stdin, answering each with `OK <command>`:
//   down   every broker stops answering
//   up     every broker answers again
// It stops when stdin closes, so it never outlives the test that started it.
import EventLog
import Foundation
import TributaryModel
import TributaryTesting

var brokers = 3
var partitions = 4
var arguments = CommandLine.arguments.dropFirst().makeIterator()
while let argument = arguments.next() {
    switch argument {
    case "--brokers": brokers = Int(arguments.next() ?? "") ?? brokers
    case "--partitions": partitions = Int(arguments.next() ?? "") ?? partitions
    default:
        FileHandle.standardError.write(Data("tributary-kafka-mock: unknown argument '\(argument)'\n".utf8))
        exit(2)
    }
}

let cluster = try KafkaTestCluster(brokerCount: brokers)
for topic in StandardTopic.all {
    try await cluster.createTopic(
        TopicConfiguration(name: topic.name, partitions: partitions, compacted: topic.compacted))
}
print("READY \(cluster.bootstrapServers)")
fflush(nil)
while let line = readLine() {
    switch line.trimmingCharacters(in: .whitespaces) {
    case "down": try await cluster.setAllBrokersDown(true)
    case "up": try await cluster.setAllBrokersDown(false)
    case "": continue
    default:
        print("ERROR unknown command '\(line)'")
        fflush(nil)
        continue
    }
    print("OK \(line)")
    fflush(nil)
}
await cluster.close()
