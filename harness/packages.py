"""Debian packages the checks need, installed with apt-get when their program is missing."""
import os
import shutil
import subprocess


def ensure_installed(packages):
    """Installs Debian packages with apt-get (as root, 'apt-get update' first) when their program
    is missing: `packages` maps a program to its package. The packages may start a system service
    on its default port (nginx, redis-server, prometheus, influxdb); it is stopped again: the
    checks run their own."""
    missing = sorted({package for tool, package in packages.items() if not shutil.which(tool)})
    if not missing:
        return
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise SystemExit(f"missing {', '.join(missing)}: as root run: apt-get update && apt-get install -y {' '.join(missing)}")
    subprocess.run(["apt-get", "update", "-qq"], check=True)
    subprocess.run(["apt-get", "install", "-y", "-qq", *missing], check=True,
                   env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"), stdout=subprocess.DEVNULL)
    for service in missing:
        subprocess.run(["service", service, "stop"], capture_output=True)
