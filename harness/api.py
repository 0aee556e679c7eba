"""Calls of CouponGate's HTTP API that several checks make, and reading an apply's answer."""
import json

from harness.net import request


def create_campaign(port, token, campaign, limit):
    """POST /admin/campaigns with the campaign's id as its name; stops the run unless it answers 201."""
    status, _, body = request(port, "POST", "/admin/campaigns",
                              headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
                              body=json.dumps({"id": campaign, "name": campaign, "limit": limit}))
    if status != 201:
        raise SystemExit(f"creating {campaign} on port {port} answered {status}: {body!r}")


def parse_apply(status, body):
    """(sequence, issuedAt, problem kind) of an apply's answer: a 200's coupon, or the coupon a
    problem names (409: already won), and the last word of the problem's type; None for what
    it does not hold (an empty body: no answer)."""
    try:
        document = json.loads(body)
    except ValueError:
        return None, None, None
    if status == 200:
        return document.get("sequence"), document.get("issuedAt"), None
    kind = document.get("type", "").rpartition(":")[2]
    coupon = document.get("coupon") or {}
    return coupon.get("sequence"), coupon.get("issuedAt"), kind


def apply_again(port, path):
    """POSTs an apply again, as a client whose answer was lost in flight would: (status, the
    sequence of the coupon it names or None), what invariants.row_violations asks of `retry`."""
    status, _, body = request(port, "POST", path)
    return status, parse_apply(status, body)[0]
