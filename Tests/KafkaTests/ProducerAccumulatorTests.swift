import NIOCore
import Testing

@testable import Kafka

@Suite struct ProducerAccumulatorTests {
    typealias Accumulator = ProducerAccumulator<String>
    let start = ContinuousClock.now
    let p0 = TopicPartition(topic: "t", partition: 0)
    let p1 = TopicPartition(topic: "t", partition: 1)

    func accumulator(batchBytes: Int = 10_000) -> Accumulator {
        Accumulator(
            configuration: .init(batchBytes: batchBytes, linger: .milliseconds(5), deliveryTimeout: .seconds(1), retryBackoff: .milliseconds(100))
        )
    }

    func record(_ value: String) -> KafkaProducerRecord {
        KafkaProducerRecord(topic: "t", key: nil, value: ByteBuffer(string: value), timestamp: 1)
    }

    func enqueue(_ accumulator: inout Accumulator, _ waiter: String, _ records: [(TopicPartition, String)], at offset: Duration = .zero) {
        let id = accumulator.makeDeliveryID()
        accumulator.enqueue(records.map { ($0.0, self.record($0.1)) }, id: id, waiter: waiter, now: self.start + offset)
    }

    func batches(_ action: Accumulator.DrainAction) -> [Accumulator.Batch] {
        if case .send(let batches, _) = action { return batches }
        return []
    }

    @Test func nothingIsSentBeforeAProducerIDIsAssigned() {
        var accumulator = self.accumulator()
        #expect(self.batches(accumulator.drain(now: self.start).action).isEmpty)
        self.enqueue(&accumulator, "a", [(self.p0, "x")])
        guard case .initProducerID = accumulator.drain(now: self.start + .seconds(0.01)).action else {
            Issue.record("a queued record without a producer id asks for one")
            return
        }
    }

    @Test func recordsLingerThenGoAsOneBatchPerPartitionWithSequences() {
        var accumulator = self.accumulator()
        accumulator.producerIDAssigned(id: 7, epoch: 0)
        self.enqueue(&accumulator, "a", [(self.p0, "x"), (self.p1, "y"), (self.p0, "z")])
        let early = accumulator.drain(now: self.start + .milliseconds(1)).action
        guard case .send(let none, let wakeAt) = early else {
            Issue.record("expected send")
            return
        }
        #expect(none.isEmpty)
        #expect(wakeAt == self.start + .milliseconds(5))

        let sent = self.batches(accumulator.drain(now: self.start + .milliseconds(5)).action)
        #expect(sent.map(\.partition) == [self.p0, self.p1])
        #expect(sent.map(\.records.count) == [2, 1])
        #expect(sent.allSatisfy { $0.baseSequence == 0 && $0.producerID == 7 })
        #expect(accumulator.recordsInFlight == 3)

        // The waiter is told only when both partitions acknowledged.
        #expect(accumulator.succeeded(sent[0]).isEmpty)
        #expect(accumulator.succeeded(sent[1]) == ["a"])
        #expect(accumulator.isEmpty)

        self.enqueue(&accumulator, "b", [(self.p0, "w")], at: .milliseconds(10))
        let next = self.batches(accumulator.drain(now: self.start + .milliseconds(20)).action)
        #expect(next.map(\.baseSequence) == [2], "p0's sequence continues after its two records")
    }

    @Test func onlyOneBatchPerPartitionIsInFlight() {
        var accumulator = self.accumulator()
        accumulator.producerIDAssigned(id: 1, epoch: 0)
        self.enqueue(&accumulator, "a", [(self.p0, "x")])
        let first = self.batches(accumulator.drain(now: self.start + .seconds(0.01)).action)
        self.enqueue(&accumulator, "b", [(self.p0, "y")], at: .milliseconds(10))
        #expect(self.batches(accumulator.drain(now: self.start + .milliseconds(50)).action).isEmpty)
        #expect(accumulator.succeeded(first[0]) == ["a"])
        let second = self.batches(accumulator.drain(now: self.start + .milliseconds(50)).action)
        #expect(second.map(\.baseSequence) == [1])
    }

    @Test func aFullPartitionGoesWithoutLingeringAndBatchesAreBoundedBySize() {
        var accumulator = self.accumulator(batchBytes: 62)
        accumulator.producerIDAssigned(id: 1, epoch: 0)
        // Each record counts 31 bytes: two fill a batch.
        self.enqueue(&accumulator, "a", [(self.p0, "0123456789"), (self.p0, "0123456789"), (self.p0, "0123456789")])
        let sent = self.batches(accumulator.drain(now: self.start).action)
        #expect(sent.map(\.records.count) == [2])
        #expect(accumulator.succeeded(sent[0]).isEmpty)
        // The third does not fill a batch: it lingers.
        #expect(self.batches(accumulator.drain(now: self.start).action).isEmpty)
        let rest = self.batches(accumulator.drain(now: self.start + .milliseconds(5)).action)
        #expect(rest.map(\.records.count) == [1])
        #expect(rest.map(\.baseSequence) == [2])
    }

    @Test func aRetriableFailureResendsTheSameBatchAfterTheBackoff() {
        var accumulator = self.accumulator()
        accumulator.producerIDAssigned(id: 1, epoch: 0)
        self.enqueue(&accumulator, "a", [(self.p0, "x")])
        let sent = self.batches(accumulator.drain(now: self.start + .seconds(0.01)).action)
        let (failed, retryAt) = accumulator.failed(sent[0], retriable: true, now: self.start + .milliseconds(20))
        #expect(failed.isEmpty)
        #expect(retryAt == self.start + .milliseconds(120))
        #expect(self.batches(accumulator.drain(now: self.start + .milliseconds(50)).action).isEmpty)
        let retried = self.batches(accumulator.drain(now: self.start + .milliseconds(120)).action)
        #expect(retried.map(\.id) == [sent[0].id])
        #expect(retried.map(\.baseSequence) == [0])
        #expect(retried.map(\.attempts) == [2])
        #expect(accumulator.succeeded(retried[0]) == ["a"])
    }

    @Test func aFailureForGoodFailsTheWaiterAndAsksForANewProducerID() {
        var accumulator = self.accumulator()
        accumulator.producerIDAssigned(id: 1, epoch: 0)
        self.enqueue(&accumulator, "a", [(self.p0, "x"), (self.p1, "y")])
        let sent = self.batches(accumulator.drain(now: self.start + .seconds(0.01)).action)
        #expect(accumulator.failed(sent[0], retriable: false, now: self.start + .milliseconds(20)).failed == ["a"])
        // The other partition's batch still completes, without telling the waiter a second time.
        #expect(accumulator.succeeded(sent[1]).isEmpty)
        self.enqueue(&accumulator, "b", [(self.p0, "z")], at: .milliseconds(30))
        guard case .initProducerID = accumulator.drain(now: self.start + .milliseconds(40)).action else {
            Issue.record("sequences are abandoned after a batch failed for good")
            return
        }
        accumulator.producerIDAssigned(id: 2, epoch: 0)
        let next = self.batches(accumulator.drain(now: self.start + .milliseconds(40)).action)
        #expect(next.map(\.producerID) == [2])
        #expect(next.map(\.baseSequence) == [0])
    }

    @Test func aRetryPastTheDeliveryTimeoutFails() {
        var accumulator = self.accumulator()
        accumulator.producerIDAssigned(id: 1, epoch: 0)
        self.enqueue(&accumulator, "a", [(self.p0, "x")])
        let sent = self.batches(accumulator.drain(now: self.start + .seconds(0.01)).action)
        let (failed, retryAt) = accumulator.failed(sent[0], retriable: true, now: self.start + .milliseconds(950))
        #expect(failed == ["a"])
        #expect(retryAt == nil)
    }

    @Test func queuedRecordsExpireAfterTheDeliveryTimeout() {
        var accumulator = self.accumulator()
        self.enqueue(&accumulator, "a", [(self.p0, "x")])
        let (_, expired) = accumulator.drain(now: self.start + .seconds(1))
        #expect(expired == ["a"])
        #expect(accumulator.isEmpty)
    }

    @Test func anAbandonedDeliveryIsNotResolvedLater() {
        var accumulator = self.accumulator()
        accumulator.producerIDAssigned(id: 1, epoch: 0)
        let id = accumulator.makeDeliveryID()
        accumulator.enqueue([(self.p0, self.record("x"))], id: id, waiter: "a", now: self.start)
        #expect(accumulator.abandon(id) == "a")
        #expect(accumulator.abandon(id) == nil)
        let sent = self.batches(accumulator.drain(now: self.start + .seconds(0.01)).action)
        #expect(sent.count == 1, "an abandoned delivery's records are still sent")
        #expect(accumulator.succeeded(sent[0]).isEmpty)
    }

    @Test func flushSendsWithoutLingering() {
        var accumulator = self.accumulator()
        accumulator.producerIDAssigned(id: 1, epoch: 0)
        self.enqueue(&accumulator, "a", [(self.p0, "x")])
        accumulator.flush()
        #expect(self.batches(accumulator.drain(now: self.start).action).count == 1)
    }

    @Test func sequencesWrapAfterInt32Max() {
        #expect(Accumulator.sequence(Int32.max - 1, plus: 1) == Int32.max)
        #expect(Accumulator.sequence(Int32.max, plus: 1) == 0)
        #expect(Accumulator.sequence(Int32.max - 1, plus: 3) == 1)
    }
}
