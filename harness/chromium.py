"""Headless Chromium as the checks run it: as root in a container, so no sandbox, no GPU and no
/dev/shm (often too small there)."""
import shutil


def headless(*flags):
    """The command line of headless Chromium with `flags` added, or None when it is not installed."""
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    return [binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", *flags] if binary else None
