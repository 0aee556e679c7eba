"""The pass/fail tally of an end-to-end check."""
import sys


class Checks:
    """Counts checks; prints each failure as it happens and the closing 'N passed, N failed' line."""

    def __init__(self, name):
        self.name, self.passed, self.failures = name, 0, []

    def __call__(self, condition, message):
        if condition:
            self.passed += 1
        else:
            self.failures.append(message)
            print(f"  FAIL {message}", flush=True)

    def finish(self):
        print(f"{self.name}: {self.passed} passed, {len(self.failures)} failed")
        sys.exit(1 if self.failures else 0)
