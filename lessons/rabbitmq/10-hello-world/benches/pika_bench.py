"""The pika side of `just bench rabbitmq`: the same work as the Rust side.

Publishes N messages to a queue through the default exchange (as the notes'
send.py does) and takes two times: when the last basic_publish has returned
(pika has written it to the socket) and when the broker reports all N in the
queue. Then consumes them with auto_ack (as the notes' receivers do), until
the N-th has arrived. Also takes the processor time it used for each phase
(time.process_time: this process, all threads). Prints one line of
`name=value` pairs: sent, queued and consumed per second, and
publish_cpu_us and consume_cpu_us per message.
"""

import argparse
import time

import pika


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", required=True)
    parser.add_argument("--queue", required=True)
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--size", type=int, default=100)
    args = parser.parse_args()

    connection = pika.BlockingConnection(pika.URLParameters(args.url))
    channel = connection.channel()
    channel.queue_declare(queue=args.queue)
    body = b"x" * args.size

    start = time.perf_counter()
    cpu = time.process_time()
    for _ in range(args.messages):
        channel.basic_publish(exchange="", routing_key=args.queue, body=body)
    sent = args.messages / (time.perf_counter() - start)
    publish_cpu_us = (time.process_time() - cpu) * 1e6 / args.messages
    while channel.queue_declare(queue=args.queue, passive=True).method.message_count < args.messages:
        time.sleep(0.001)
    queued = args.messages / (time.perf_counter() - start)

    received = 0

    def on_message(channel, method, properties, body):
        nonlocal received
        received += 1
        if received == args.messages:
            channel.stop_consuming()

    start = time.perf_counter()
    cpu = time.process_time()
    channel.basic_consume(queue=args.queue, on_message_callback=on_message, auto_ack=True)
    channel.start_consuming()
    consumed = args.messages / (time.perf_counter() - start)
    consume_cpu_us = (time.process_time() - cpu) * 1e6 / args.messages

    connection.close()
    print(
        f"sent={sent:.1f} queued={queued:.1f} consumed={consumed:.1f} "
        f"publish_cpu_us={publish_cpu_us:.2f} consume_cpu_us={consume_cpu_us:.2f}"
    )


if __name__ == "__main__":
    main()
