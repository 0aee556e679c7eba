"""The invariants of one campaign's drop (DESIGN.md §1), from what the clients were answered and
the rows the database of record holds once the relay has drained."""


def answer_violations(answers, allowed, same_coupon_repeats=False):
    """The clients' side. `answers`: (user, status, coupon, detail) per apply, `coupon` being the
    (sequence, issuedAt) a 200 named (issuedAt may be None) and `detail` words on the answer for a
    message (its problem type) or None. No user gets 200 twice, unless `same_coupon_repeats`
    (every repeat carried the user's Idempotency-Key): then its 200s all name the same coupon;
    every other status is in `allowed`. Returns (problems, {winner: sequence})."""
    problems, coupons = [], {}
    for user, status, coupon, detail in answers:
        if status == 200:
            if user in coupons and not (same_coupon_repeats and coupons[user] == coupon):
                problems.append(f"user {user} got 200 twice" + (" with different coupons" if same_coupon_repeats else ""))
            coupons[user] = coupon
        elif status not in allowed:
            problems.append(f"user {user} got status {status}" + (f" ({detail})" if detail else ""))
    return problems, {user: coupon[0] for user, coupon in coupons.items()}


def row_violations(rows, limit, winners, retry):
    """The database's side: `rows` are (user, sequence) pairs from the database, `winners` maps
    each user answered 200 to the sequence it was answered, and `retry(user)` applies again,
    returning (status, the sequence of the coupon it names or None). Every 200 has its row with
    its sequence; no user has two rows; rows <= limit; sequences are 1..rows without a gap; a row
    without a 200 (an answer lost in flight) answers 409 with it."""
    problems = []
    by_user = {}
    for user, sequence in rows:
        if user in by_user:
            problems.append(f"user {user} has two rows")
        by_user[user] = sequence
    if len(rows) > limit:
        problems.append(f"{len(rows)} rows for a limit of {limit}")
    for user, sequence in winners.items():
        if by_user.get(user) != sequence:
            problems.append(f"user {user} was answered 200 with sequence {sequence} but the database has {by_user.get(user)}")
    if sorted(s for _, s in rows) != list(range(1, len(rows) + 1)):
        problems.append("sequences are not 1..rows without a gap")
    for user in [u for u in by_user if u not in winners]:
        status, sequence = retry(user)
        if status != 409 or sequence != by_user[user]:
            problems.append(f"user {user} holds a row without a 200, and a retry answered {status}, not 409 with it")
    return problems
