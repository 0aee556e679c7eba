"""CPU seconds that processes have used, from /proc: the one place the checks and benches read it."""
import os
import pathlib


def cpu_seconds(*pids, with_reaped_children=False):
    """User + system CPU seconds the processes have used (/proc/PID/stat); one that is gone counts
    0. With `with_reaped_children`, each one's children that exited and were waited for count too
    (a PostgreSQL postmaster's ended backends)."""
    ticks = 0
    for pid in pids:
        try:
            fields = pathlib.Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        # After the ')': state is field 3 of the file, so utime (14) is index 11 here.
        ticks += int(fields[11]) + int(fields[12])
        if with_reaped_children:
            ticks += int(fields[13]) + int(fields[14])
    return ticks / os.sysconf("SC_CLK_TCK")
