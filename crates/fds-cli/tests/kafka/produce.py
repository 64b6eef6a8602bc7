"""Produces a JSON Lines file of events to a Kafka topic, keyed by subscriber, with
the confluent-kafka client: an independent producer for the worker's tests.

Usage: produce.py BROKERS TOPIC FILE
"""

import json
import sys

from confluent_kafka import Producer


def main() -> int:
    brokers, topic, path = sys.argv[1:4]
    # One message per record batch, as the Rust test producer does: the test broker
    # (tansu 0.6.0) cannot serve a fetch that starts inside a batch.
    producer = Producer({"bootstrap.servers": brokers, "linger.ms": 0, "batch.num.messages": 1})
    failures = []

    def delivered(error, message):
        if error is not None:
            failures.append(str(error))

    sent = 0
    with open(path, encoding="utf-8") as lines:
        for line in lines:
            line = line.strip()
            if not line:
                continue
            key = json.loads(line)["subscriber"]
            producer.produce(topic, value=line.encode(), key=key.encode(), on_delivery=delivered)
            producer.poll(0)
            sent += 1
    left = producer.flush(30)
    if left or failures:
        print(f"{left} undelivered, failures: {failures[:5]}", file=sys.stderr)
        return 1
    print(f"produced {sent} events to {topic}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
