"""TLS and SASL of the Swift Kafka client (target Kafka) against a real broker.

Makes a throwaway CA, a server certificate for 127.0.0.1 and a second, unrelated CA
(harness.servers.make_certificates) in a temporary folder, then starts two tansu brokers (harness.servers.Kafka):
one behind a TLS listener, and one with --authentication (SASL SCRAM required), reachable both in
plaintext and behind a TLS listener. tansu 0.6 does not do TLS itself (its --cert/--key are parsed but
unused), so the TLS listener is harness.servers.TLSProxy in front of it.

The gated Swift test KafkaSecurityInteropTests (in the KafkaTests bundle) then: creates a topic,
produces with KafkaProducer and reads back with KafkaConsumer over TLS; fails promptly with a tlsFailed
error naming the broker against an untrusted CA; fails promptly in plaintext against the TLS listener;
and is refused with a non-retriable authenticationFailed error naming the mechanism (SCRAM-SHA-256,
SCRAM-SHA-512, over plaintext and TLS) and the broker's reason, or that PLAIN is not offered.
librdkafka (confluent-kafka) reads what ours wrote over the same TLS listener, and is refused by the
authenticating broker as ours is.

A successful SASL login cannot be shown against tansu 0.6 with memory storage: users are created
through the broker (tansu user create), which refuses that request once --authentication is on, and
this build has no shared storage (postgres, sqlite) to create them through a second broker. The check
asserts that limitation too, so a tansu that lifts it is noticed.

Needs the test bundle built (swift build --build-tests) and openssl. Usage: python3 -m checks.kafka_security
"""
import os
import shutil
import subprocess
import sys
import tempfile
import uuid

from checks.kafka_interop import consume
from harness.checks import Checks
from harness.servers import Kafka, make_certificates

RECORDS = 20
TESTS = ["produceAndConsumeOverTLS", "anUntrustedCertificateFailsPromptly", "plaintextAgainstTheTLSListenerFailsPromptly",
         "anUnknownUserIsRefusedWithTheBrokersReason", "saslOverTLSRefusesAWrongPassword",
         "aMechanismTheBrokerDoesNotOfferIsNamed"]
check = Checks("kafka security")


def consume_tls(bootstrap, ca, topic, count, timeout=30):
    """The values of up to `count` messages of `topic`, read by librdkafka over TLS."""
    settings = {"security.protocol": "SSL", "ssl.ca.location": ca}
    return [message[1] for message in consume(bootstrap, topic, count, timeout, settings)]


def librdkafka_refused(bootstrap, mechanism):
    """librdkafka's error for an unknown user, or None when it got metadata."""
    from confluent_kafka.admin import AdminClient
    errors = []
    admin = AdminClient({"bootstrap.servers": bootstrap, "security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": mechanism,
                         "sasl.username": "nobody", "sasl.password": "wrong-password", "log_level": 0,
                         "error_cb": lambda error: errors.append(str(error))})
    try:
        admin.list_topics(timeout=5)
        return None
    except Exception as error:  # KafkaException: transport failure after the SASL refusal
        return "; ".join(sorted(set(errors))) or str(error)


def main():
    Kafka.ensure_client()
    state = tempfile.mkdtemp(prefix="cg-kafka-security-")
    files = make_certificates(state)
    tls_broker = Kafka(state, tls=(files["server.pem"], files["server.key"]))
    auth_broker = Kafka(state, tls=(files["server.pem"], files["server.key"]), authentication=True)
    topic = f"swift-security-{uuid.uuid4().hex[:8]}"
    try:
        tls_broker.start()
        auth_broker.start()

        print("kafka security: tansu cannot create a user once authentication is on", flush=True)
        created = subprocess.run([Kafka.binary(), "user", "create", "alice", "secret-password", "--broker",
                                  f"tcp://127.0.0.1:{auth_broker.plain_port}", "--mechanism", "scram256"],
                                 capture_output=True, text=True, timeout=30)
        check(created.returncode != 0, "tansu user create is refused by a broker with --authentication "
              "(if it now works, extend this check with a successful login)")

        print("kafka security: the Swift client over TLS and SASL", flush=True)
        result = subprocess.run(
            ["swift", "test", "--skip-build", "--filter", "KafkaSecurityInteropTests"],
            env={**os.environ, "COUPONGATE_INTEGRATION": "1", "KAFKA_SECURITY_TLS_BROKER": tls_broker.bootstrap, "KAFKA_SECURITY_CA": files["ca.pem"],
                 "KAFKA_SECURITY_OTHER_CA": files["other-ca.pem"], "KAFKA_SECURITY_TOPIC": topic,
                 "KAFKA_SECURITY_RECORDS": str(RECORDS),
                 "KAFKA_SECURITY_AUTH_BROKER": f"127.0.0.1:{auth_broker.plain_port}",
                 "KAFKA_SECURITY_AUTH_TLS_BROKER": auth_broker.bootstrap},
            capture_output=True, text=True, timeout=300)
        output = result.stdout + result.stderr
        for line in output.splitlines():
            if line.startswith("security:") or "✘" in line:
                print("  " + line, flush=True)
        check(result.returncode == 0, f"the Swift security test passes (exit {result.returncode}):\n{output[-3000:]}")
        for test in TESTS:
            check(f"Test {test}() passed" in output, f"{test} ran and passed rather than being skipped")

        print("kafka security: librdkafka reads what ours wrote over the same TLS listener", flush=True)
        values = consume_tls(tls_broker.bootstrap, files["ca.pem"], topic, RECORDS)
        check(sorted(values) == sorted(f"tls-value-{i}".encode() for i in range(RECORDS)),
              f"librdkafka read the {RECORDS} records over TLS, got {len(values)}")

        print("kafka security: librdkafka is refused by the authenticating broker as ours is", flush=True)
        for mechanism in ("SCRAM-SHA-256", "SCRAM-SHA-512"):
            refusal = librdkafka_refused(f"127.0.0.1:{auth_broker.plain_port}", mechanism)
            print(f"  librdkafka {mechanism}: {refusal}", flush=True)
            check(refusal is not None, f"librdkafka with an unknown user ({mechanism}) is refused too")
    finally:
        tls_broker.stop()
        auth_broker.stop()
        shutil.rmtree(state, ignore_errors=True)
    check.finish()


if __name__ == "__main__":
    sys.exit(main())
