import Testing

@testable import Kafka

@Suite struct KafkaAssignmentBasisTests {
    private let basis = KafkaAssignmentBasis(topics: ["b", "a", "b", "gone"], partitionCounts: ["a": 3, "b": 1, "zero": 0])

    @Test func topicsAreTheSortedUnionAndZeroCountsAreMissing() {
        #expect(self.basis.topics == ["a", "b", "gone"])
        #expect(self.basis.partitionCounts == ["a": 3, "b": 1])
        #expect(self.basis.hasMissingTopic)
        #expect(!KafkaAssignmentBasis(topics: ["a"], partitionCounts: ["a": 3]).hasMissingTopic)
    }

    @Test func theSameMetadataIsNoChange() {
        #expect(self.basis.change(["a": .partitions(3), "b": .partitions(1), "gone": .missing]) == nil)
        // A topic whose metadata could not be read this time counts as unchanged.
        #expect(self.basis.change([:]) == nil)
        #expect(self.basis.change(["a": .partitions(3)]) == nil)
        // Zero partitions is as good as missing.
        #expect(self.basis.change(["gone": .partitions(0)]) == nil)
    }

    @Test func aTopicThatAppearedDisappearedOrChangedItsPartitionCountIsAChange() {
        #expect(self.basis.change(["gone": .partitions(2)]) == "subscribed topic 'gone' now exists with 2 partitions")
        #expect(self.basis.change(["a": .missing]) == "subscribed topic 'a' no longer exists")
        #expect(self.basis.change(["b": .partitions(0)]) == "subscribed topic 'b' no longer exists")
        #expect(self.basis.change(["a": .partitions(6)]) == "subscribed topic 'a' has 6 partitions, not 3")
        #expect(
            self.basis.change(["a": .partitions(6), "b": .partitions(1), "gone": .partitions(1)])
                == "subscribed topic 'a' has 6 partitions, not 3; subscribed topic 'gone' now exists with 1 partitions"
        )
    }

    @Test func aMissingTopicIsLookedForOftenOtherwiseAtTheMetadataMaxAge() {
        #expect(self.basis.checkInterval(metadataMaxAge: .seconds(60)) == KafkaAssignmentBasis.missingTopicCheckInterval)
        #expect(self.basis.checkInterval(metadataMaxAge: .seconds(1)) == .seconds(1))
        let complete = KafkaAssignmentBasis(topics: ["a"], partitionCounts: ["a": 3])
        #expect(complete.checkInterval(metadataMaxAge: .seconds(60)) == .seconds(60))
    }
}
