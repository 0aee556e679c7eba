"""Draining the relay: `coupongate reconcile` until nothing is in flight, then the rows."""
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

# What reconcile prints once the relay has written every coupon of the campaign.
NOTHING_IN_FLIGHT = "in flight (outbox, not yet in the database): 0"


def drain(binary, common, database, campaigns, timeout=120, supervise=None):
    """Waits until reconcile (`binary reconcile --campaign C *common`, four at a time) finds
    nothing in flight for every campaign, calling `supervise()` before each round (to start a
    relay that exited again, as its supervisor would). Returns ({campaign: rows [(user,
    sequence)]}, {campaign: what reconcile said last, for those that did not drain in time})."""
    pending, last = set(campaigns), {}
    deadline = time.time() + timeout

    def reconcile(campaign):
        return campaign, subprocess.run([binary, "reconcile", "--campaign", campaign, *common], capture_output=True, text=True)

    with ThreadPoolExecutor(max_workers=4) as pool:
        while pending and time.time() < deadline:
            if supervise:
                supervise()
            for campaign, result in pool.map(reconcile, sorted(pending)):
                last[campaign] = f"exit {result.returncode}: {result.stdout}{result.stderr}"
                if result.returncode == 0 and NOTHING_IN_FLIGHT in result.stdout:
                    pending.discard(campaign)
            if pending:
                time.sleep(0.5)
    rows = {campaign: [] for campaign in campaigns}
    # The campaign ids are the checks' own, not input.
    listed = ",".join(f"'{c}'" for c in campaigns)
    for campaign, user, sequence in database.rows(f"SELECT campaign_id, user_id, sequence FROM coupons WHERE campaign_id IN ({listed})"):
        rows[campaign].append((int(user), int(sequence)))
    return rows, {c: last.get(c, "") for c in pending}
