"""What the end-to-end checks (checks/) and the benchmarks (bench/) share.

Run those from the repository root as modules, `python3 -m checks.serve_smoke BINARY`, so that
this package is importable without touching sys.path:

  api            CouponGate API calls several checks make: create a campaign, apply again
  checks         the pass/fail tally a check prints and exits with
  chromium       headless Chromium's command line
  net            a free port, one HTTP request, waiting until something is ready
  processes      coupongate processes (serve, relay), `serving()`, a process's children
  packages       Debian packages installed with apt-get when their program is missing
  servers        throwaway redis-server, PostgreSQL or MariaDB (servers/*.sh), nginx
  redis_cluster  a throwaway Redis Cluster (servers/redis-cluster.sh), hash slots
  scale          the scale-out stack: Redis Cluster, instances and relays behind nginx
  relay          draining the relay: reconcile until nothing is in flight, then the rows
  invariants     the invariants of one campaign's drop, from its answers and its rows
  cpu            CPU seconds of processes, from /proc
"""
import os

# The repository root: this package sits in it.
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
