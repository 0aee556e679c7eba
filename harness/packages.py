"""What the checks need installed: Debian packages (apt-get, when their program is missing) and
PyPI packages at exactly one version (pip)."""
import importlib.metadata
import os
import shutil
import subprocess
import sys


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


def ensure_pip(package, version, who):
    """Installs `package`==`version` with this interpreter's pip when it is missing or another
    version: exactly one version, so a new release cannot change a check's result unnoticed."""
    try:
        installed = importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        installed = None
    if installed != version:
        print(f"{who}: installing {package}=={version} with pip" + (f" (found {installed})" if installed else ""), flush=True)
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--disable-pip-version-check",
                        f"{package}=={version}"], check=True)
