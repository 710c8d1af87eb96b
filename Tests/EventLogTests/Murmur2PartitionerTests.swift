import EventLog
import Testing

@Suite struct Murmur2PartitionerTests {
    /// Vectors from Apache Kafka's `UtilsTest.testMurmur2`.
    @Test(arguments: [
        ("21", Int32(-973_932_308)),
        ("foobar", Int32(-790_332_482)),
        ("a-little-bit-long-string", Int32(-985_981_536)),
        ("a-little-bit-longer-string", Int32(-1_486_304_829)),
        ("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", Int32(-58_897_971)),
        ("abc", Int32(479_470_107)),
    ])
    func matchesKafka(input: String, expected: Int32) {
        #expect(Murmur2Partitioner.murmur2(Array(input.utf8)) == expected)
    }

    @Test func partitionIsNonNegativeAndStable() {
        for index in 0..<1000 {
            let key = Array("key-\(index)".utf8)
            let partition = Murmur2Partitioner.partition(forKey: key, partitionCount: 7)
            #expect((0..<7).contains(partition))
            #expect(partition == Murmur2Partitioner.partition(forKey: key, partitionCount: 7))
        }
    }
}
