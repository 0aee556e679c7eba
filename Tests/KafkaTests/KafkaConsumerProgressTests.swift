import Testing

@testable import Kafka

@Suite struct KafkaConsumerProgressTests {
    private let p0 = TopicPartition(topic: "t", partition: 0)
    private let p1 = TopicPartition(topic: "t", partition: 1)

    @Test func aPartitionShowsOnceAFetchToldItsHighWatermark() {
        let progress = KafkaConsumerProgress()
        progress.assigned([p0: 10, p1: 0])
        #expect(progress.lags.isEmpty)
        progress.fetched(p0, highWatermark: 25)
        #expect(progress.lags == [KafkaPartitionLag(topic: "t", partition: 0, committedOffset: 10, highWatermark: 25)])
        #expect(progress.lags.first?.lag == 15)
    }

    @Test func commitsLowerTheLagAndItNeverGoesNegative() {
        let progress = KafkaConsumerProgress()
        progress.assigned([p0: 0, p1: 0])
        progress.fetched(p0, highWatermark: 100)
        progress.fetched(p1, highWatermark: 7)
        progress.committed([p0: 60, p1: 9])
        #expect(progress.lags.map(\.lag) == [40, 0])
        // An unknown watermark (-1, as some brokers answer for an empty log) changes nothing.
        progress.fetched(p0, highWatermark: -1)
        #expect(progress.lags.map(\.highWatermark) == [100, 7])
    }

    @Test func aRebalanceKeepsOnlyTheNewAssignment() {
        let progress = KafkaConsumerProgress()
        progress.assigned([p0: 0, p1: 0])
        progress.fetched(p0, highWatermark: 5)
        progress.fetched(p1, highWatermark: 5)
        progress.assigned([p1: 3])
        #expect(progress.lags == [KafkaPartitionLag(topic: "t", partition: 1, committedOffset: 3, highWatermark: 5)])
        // A commit of a partition given up is not taken back in.
        progress.committed([p0: 5])
        #expect(progress.lags.count == 1)
        progress.released()
        #expect(progress.lags.isEmpty)
    }
}
