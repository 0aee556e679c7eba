"""Fuzzes the real `coupongate serve` (embedded default) against openapi.yaml with
schemathesis (pip-installed when missing), every check on: no 5xx, every response
conforms to the document (status, content type, body schema, headers), schema-invalid
input refused, documented methods only (405 otherwise). Settings: schemathesis.toml.

Usage: python3 -m checks.api_fuzz PATH_TO_COUPONGATE [--max-examples N] [--seed S]
  The test command runs a fixed seed; by hand, leave --seed out for a new one each run.
"""
import argparse
import shutil
import subprocess
import sys
import tempfile

from harness import REPO
from harness.processes import serving

TOKEN = "api-fuzz-admin-token-0123456789"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("binary")
    parser.add_argument("--max-examples", type=int, default=50)
    parser.add_argument("--seed", type=int)
    options = parser.parse_args()
    if shutil.which("schemathesis") is None:
        print("api fuzz: installing schemathesis with pip", flush=True)
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "schemathesis"], check=True)
    with tempfile.TemporaryDirectory(prefix="cg-fuzz-") as data_dir:
        with serving(options.binary, data_dir, "--admin-token", TOKEN) as port:
            command = ["schemathesis", "run", f"http://127.0.0.1:{port}/openapi.yaml", "--checks", "all",
                       "-H", f"Authorization: Bearer {TOKEN}", "--max-examples", str(options.max_examples)]
            if options.seed is not None:
                command += ["--seed", str(options.seed)]
            # From the repository, so schemathesis finds schemathesis.toml.
            result = subprocess.run(command, cwd=REPO)
    sys.exit(result.returncode)


if __name__ == "__main__":
    main()
