"""The k6 runner (run-k6.sh) and its converter (k6_to_results.py, run as a script by run-k6.sh);
a package only so that the converter's tests run from the repository root as
`python3 -m unittest loadtest.test_k6_to_results`."""
