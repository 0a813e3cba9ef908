"""The pika side of `just bench rabbitmq`: the same work as the Rust side.

Publishes N messages through the default exchange (as the notes' send.py
does), N/Q to each of Q queues in turn, and takes two times: when the last
basic_publish has returned (pika has written it to the socket) and when the
broker reports all of them in their queues. Then consumes them with
auto_ack (as the notes' receivers do), one consumer per queue, each on its
own channel, until the last has arrived. The channels are opened before the
clock starts, as the Rust side opens its own: only consuming is timed. Also takes the processor time it
used for each phase (time.process_time: this process, all threads). Prints
one line of `name=value` pairs: sent, queued and consumed per second, and
publish_cpu_us and consume_cpu_us per message.
"""

import argparse
import time

import pika


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", required=True)
    parser.add_argument("--queue", required=True, help="queues are named QUEUE-1 ... QUEUE-Q")
    parser.add_argument("--queues", type=int, default=1)
    parser.add_argument("--messages", type=int, default=100_000, help="in all queues together")
    parser.add_argument("--size", type=int, default=100)
    args = parser.parse_args()

    connection = pika.BlockingConnection(pika.URLParameters(args.url))
    channel = connection.channel()
    queues = [f"{args.queue}-{k}" for k in range(1, args.queues + 1)]
    for queue in queues:
        channel.queue_declare(queue=queue)
    per_queue = args.messages // args.queues
    total = per_queue * args.queues
    body = b"x" * args.size

    start = time.perf_counter()
    cpu = time.process_time()
    for queue in queues:
        for _ in range(per_queue):
            channel.basic_publish(exchange="", routing_key=queue, body=body)
    sent = total / (time.perf_counter() - start)
    publish_cpu_us = (time.process_time() - cpu) * 1e6 / total
    for queue in queues:
        while channel.queue_declare(queue=queue, passive=True).method.message_count < per_queue:
            time.sleep(0.001)
    queued = total / (time.perf_counter() - start)

    received = 0

    def on_message(channel, method, properties, body):
        nonlocal received
        received += 1

    # Untimed setup, the same as the Rust side's: a channel per queue.
    channels = [connection.channel() for _ in queues]
    start = time.perf_counter()
    cpu = time.process_time()
    for consumer_channel, queue in zip(channels, queues):
        consumer_channel.basic_consume(queue=queue, on_message_callback=on_message, auto_ack=True)
    # One loop serves every channel of the connection.
    while received < total:
        connection.process_data_events(time_limit=None)
    consumed = total / (time.perf_counter() - start)
    consume_cpu_us = (time.process_time() - cpu) * 1e6 / total

    connection.close()
    print(
        f"sent={sent:.1f} queued={queued:.1f} consumed={consumed:.1f} "
        f"publish_cpu_us={publish_cpu_us:.2f} consume_cpu_us={consume_cpu_us:.2f}"
    )


if __name__ == "__main__":
    main()
