"""Benchmarks. The shell ones run from anywhere (bench/bench.sh, bench/bench-distributed.sh); the
Python ones run from the repository root as modules: python3 -m bench.relay, python3 -m
bench.generators. Both kinds measure a release build, as bench/lib.sh's build_release_bin does."""
import os
import subprocess

from harness import REPO


def release_binary(tag):
    """BENCH_BIN, or the release binary (own scratch path .build-release), built first unless
    BENCH_SKIP_BUILD=1 and it exists. `tag` prefixes the message."""
    if os.environ.get("BENCH_BIN"):
        return os.environ["BENCH_BIN"]
    binary = os.path.join(REPO, ".build-release", "release", "coupongate")
    if not (os.environ.get("BENCH_SKIP_BUILD") == "1" and os.access(binary, os.X_OK)):
        print(f"{tag}: building: swift build -c release --scratch-path .build-release --product coupongate", flush=True)
        subprocess.run(["swift", "build", "-c", "release", "--scratch-path", ".build-release", "--product", "coupongate"],
                       cwd=REPO, check=True)
    return binary
