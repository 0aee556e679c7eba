"""The end-to-end and fault checks, each run from the repository root as
`python3 -m checks.NAME BINARY [args]` (scripts/test.sh runs them all), on the shared code in
harness/."""
