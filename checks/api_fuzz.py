"""Fuzzes the real `coupongate serve` (embedded default) against openapi.yaml with
schemathesis (pip-installed at the version below when missing or another), every check on: no 5xx, every response
conforms to the document (status, content type, body schema, headers), schema-invalid
input refused, documented methods only (405 otherwise). Settings: schemathesis.toml.

Usage: python3 -m checks.api_fuzz PATH_TO_COUPONGATE [--max-examples N] [--seed S]
  The test command runs a fixed seed; by hand, leave --seed out for a new one each run.
"""
import argparse
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile

from harness import REPO
from harness.packages import ensure_pip
from harness.processes import serving

TOKEN = "api-fuzz-admin-token-0123456789"
# Exactly one version: a new release brings new checks, which must not turn a run red by themselves.
SCHEMATHESIS = "4.32.5"


def schemathesis_command():
    """The schemathesis command line of this interpreter's environment, at SCHEMATHESIS: installed
    with pip when it is missing or another version, then checked by `schemathesis --version`."""
    ensure_pip("schemathesis", SCHEMATHESIS, "api fuzz")
    # The script pip installed beside this interpreter, not some other one on PATH.
    script = os.path.join(sysconfig.get_path("scripts"), "schemathesis")
    command = [script if os.access(script, os.X_OK) else shutil.which("schemathesis") or "schemathesis"]
    said = subprocess.run(command + ["--version"], capture_output=True, text=True).stdout.split()
    if said[-1:] != [SCHEMATHESIS]:
        raise SystemExit(f"api fuzz: {command[0]} --version says {' '.join(said)!r}, not {SCHEMATHESIS}")
    return command


def main():
    parser = argparse.ArgumentParser(prog="python3 -m checks.api_fuzz")
    parser.add_argument("binary")
    parser.add_argument("--max-examples", type=int, default=50)
    parser.add_argument("--seed", type=int)
    options = parser.parse_args()
    schemathesis = schemathesis_command()
    with tempfile.TemporaryDirectory(prefix="cg-fuzz-") as data_dir:
        with serving(options.binary, data_dir, "--admin-token", TOKEN) as port:
            command = [*schemathesis, "run", f"http://127.0.0.1:{port}/openapi.yaml", "--checks", "all",
                       "-H", f"Authorization: Bearer {TOKEN}", "--max-examples", str(options.max_examples)]
            if options.seed is not None:
                command += ["--seed", str(options.seed)]
            # From the repository, so schemathesis finds schemathesis.toml.
            result = subprocess.run(command, cwd=REPO)
    sys.exit(result.returncode)


if __name__ == "__main__":
    main()
