"""A throwaway Redis Cluster (servers/redis-cluster.sh) and the hash slots of Redis Cluster."""
import os
import subprocess

from harness import REPO


def hash_slot(key):
    """The Redis Cluster hash slot of a key: CRC16 (XMODEM) of its hash tag (the part between the
    first '{' and the next '}', when not empty) or of the whole key, modulo 16384."""
    data = key.encode() if isinstance(key, str) else key
    start = data.find(b"{")
    if start >= 0:
        end = data.find(b"}", start + 1)
        if end > start + 1:
            data = data[start + 1:end]
    crc = 0
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc % 16384


def campaign_slot(campaign):
    """The hash slot of a campaign's keys in Redis (they share the hash tag {c:<id>})."""
    return hash_slot("{c:" + campaign + "}")


class RedisCluster:
    """A Redis Cluster run by servers/redis-cluster.sh in a state directory of its own: start,
    stop (deleting its data), and the faults the tests inject (kill a master, revive a node,
    reshard slots)."""

    def __init__(self, state, masters=3, replicas=1):
        self.state = os.path.join(state, "redis-cluster")
        self.script = os.path.join(REPO, "servers", "redis-cluster.sh")
        self.masters, self.replicas, self.seeds = masters, replicas, None

    def run(self, *args, timeout=600):
        result = subprocess.run([self.script, *args, self.state], capture_output=True, text=True, timeout=timeout)
        if result.returncode != 0:
            raise RuntimeError(f"redis-cluster.sh {' '.join(args)} failed (exit {result.returncode}):\n{result.stdout}{result.stderr}")
        return result.stdout.strip()

    def start(self):
        self.seeds = self.run("start", "--masters", str(self.masters), "--replicas", str(self.replicas)).splitlines()[-1]
        return self

    def stop(self):
        subprocess.run([self.script, "stop", self.state], capture_output=True)

    @property
    def flag(self):
        """The coupongate options naming this cluster."""
        return ["--redis-cluster", self.seeds]

    @property
    def url(self):
        return self.seeds

    def ports(self):
        """Every node's port, in start order."""
        return [int(line) for line in open(os.path.join(self.state, "ports")) if line.strip()]

    def nodes(self):
        """[(port, role)] as the nodes report now (ROLE), role 'master', 'replica' or 'down'."""
        nodes = []
        for port in self.ports():
            try:
                out = subprocess.run(["redis-cli", "-p", str(port), "role"], capture_output=True, text=True, timeout=5).stdout.split()
            except subprocess.TimeoutExpired:
                out = []
            role = {"master": "master", "slave": "replica"}.get(out[0] if out else "", "down")
            nodes.append((port, role))
        return nodes

    def masters_now(self):
        return [port for port, role in self.nodes() if role == "master"]

    def wait_ok(self, timeout=30):
        self.run("wait-ok", "--timeout", str(timeout), timeout=timeout + 30)

    def kill_master(self, number):
        """SIGKILLs the numberth live master (1-based, in start order); returns its port."""
        return int(self.run("kill-master", str(number)))

    def revive(self, port):
        self.run("revive", str(port))

    def reshard(self, from_port, to_port, slots):
        """Moves `slots` slots (from_port's lowest) to to_port; returns the script's summary line."""
        return self.run("reshard", str(from_port), str(to_port), str(slots))

    def slot_ranges(self):
        """{port of a master: [(first, last), ...]}, from CLUSTER NODES on a live node."""
        for port in self.ports():
            try:
                out = subprocess.run(["redis-cli", "-p", str(port), "cluster", "nodes"], capture_output=True, text=True, timeout=5).stdout
            except subprocess.TimeoutExpired:
                continue
            if not out.strip() or out.startswith(("Could not connect", "ERR")):
                continue
            owners = {}
            for line in out.splitlines():
                fields = line.split()
                if len(fields) < 8 or "master" not in fields[2].split(",") or "fail" in fields[2].split(","):
                    continue
                node_port = int(fields[1].split("@")[0].rpartition(":")[2])
                ranges = []
                for part in fields[8:]:
                    if part.startswith("["):
                        continue  # a slot being migrated or imported
                    first, _, last = part.partition("-")
                    ranges.append((int(first), int(last or first)))
                owners[node_port] = sorted(ranges)
            return owners
        raise RuntimeError("no node of the cluster answers")

    def owner_of(self, slot, ranges=None):
        """The port of the master serving `slot` (None if none does), from `ranges` (a
        slot_ranges() snapshot) or from the cluster now."""
        for port, owned in (ranges if ranges is not None else self.slot_ranges()).items():
            if any(first <= slot <= last for first, last in owned):
                return port
        return None

    def pids(self):
        """{port: pid} of the nodes that are running."""
        base = open(os.path.join(self.state, "dir")).read().strip()
        pids = {}
        for port in self.ports():
            try:
                pid = int(open(os.path.join(base, str(port), "redis.pid")).read())
                os.kill(pid, 0)
                pids[port] = pid
            except (OSError, ValueError):
                pass
        return pids
