"""Starts the local scale-out stack (harness/scale.py), prints its URLs and waits for Ctrl-C:

    python3 -m checks.scale_stack .build/debug/coupongate [--instances 3] [--relays 2]
        [--masters 3] [--replicas 1] [--redis-wait-replicas N] [--single-redis]
        [--database postgres|mysql] [--state DIR]

--single-redis starts one plain redis-server (AOF, appendfsync always) instead of the cluster and
gives the instances --redis URL. nginx, redis-server and PostgreSQL are installed with apt-get
(as root) when missing.
"""
import argparse
import signal
import sys
import time

from harness.scale import ScaleStack
from harness.servers import Database

def main():
    parser = argparse.ArgumentParser(prog="python3 -m checks.scale_stack", description="Start the local scale-out stack and wait for Ctrl-C.")
    parser.add_argument("binary")
    parser.add_argument("--instances", type=int, default=3)
    parser.add_argument("--relays", type=int, default=2)
    parser.add_argument("--masters", type=int, default=3)
    parser.add_argument("--replicas", type=int, default=1)
    parser.add_argument("--redis-wait-replicas", type=int, default=0)
    parser.add_argument("--single-redis", action="store_true", help="one plain redis-server instead of the cluster (--redis URL)")
    parser.add_argument("--database", default="postgres", choices=Database.KINDS)
    parser.add_argument("--state", help="a directory for the state (default: a new one under /tmp, deleted at the end)")
    options = parser.parse_args()

    if options.single_redis and options.redis_wait_replicas:
        parser.error("--redis-wait-replicas needs replicas: not with --single-redis")

    def interrupt(*_):
        raise KeyboardInterrupt()
    signal.signal(signal.SIGTERM, interrupt)  # stops it like Ctrl-C
    stack = ScaleStack(options.binary, state=options.state, instances=options.instances, relays=options.relays,
                       single_redis=options.single_redis, masters=options.masters, replicas=options.replicas,
                       redis_wait_replicas=options.redis_wait_replicas, database=options.database)
    try:
        stack.start()
        print(stack.describe(), flush=True)
        print("ready; Ctrl-C stops everything", flush=True)
        while True:
            time.sleep(1)
            stack.check_alive()
    except KeyboardInterrupt:
        print("\nstopping", flush=True)
    except RuntimeError as error:
        print(f"scale stack: {error}", file=sys.stderr, flush=True)
        stack.stop()
        sys.exit(1)
    stack.stop()


if __name__ == "__main__":
    main()
