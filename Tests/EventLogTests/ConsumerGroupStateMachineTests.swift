import EventLog
import Testing

@Suite struct ConsumerGroupStateMachineTests {
    @Test func rangeAssignmentSplitsPartitionsAndMovesThemOnLeave() {
        var machine = ConsumerGroupStateMachine()
        machine.join(member: "a", topics: ["t"])
        #expect(machine.assignment(of: "a", partitionCounts: ["t": 5]).count == 5)
        machine.join(member: "b", topics: ["t"])
        let a = machine.assignment(of: "a", partitionCounts: ["t": 5])
        let b = machine.assignment(of: "b", partitionCounts: ["t": 5])
        #expect(a.map(\.partition).sorted() == [0, 1, 2])
        #expect(b.map(\.partition).sorted() == [3, 4])
        let generation = machine.generation
        machine.leave(member: "a")
        #expect(machine.generation == generation + 1)
        #expect(machine.assignment(of: "b", partitionCounts: ["t": 5]).count == 5)
        #expect(machine.assignment(of: "a", partitionCounts: ["t": 5]).isEmpty)
    }

    @Test func membersOnlyGetTopicsTheySubscribeTo() {
        var machine = ConsumerGroupStateMachine()
        machine.join(member: "a", topics: ["x"])
        machine.join(member: "b", topics: ["x", "y"])
        #expect(Set(machine.assignment(of: "a", partitionCounts: ["x": 2, "y": 2]).map(\.topic)) == ["x"])
        #expect(machine.assignment(of: "b", partitionCounts: ["x": 2, "y": 2]).filter { $0.topic == "y" }.count == 2)
    }
}
