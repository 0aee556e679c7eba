// Shared helpers for the CouponGate k6 phases (01_baseline.js .. 04_spike.js).
//
// Environment (all optional):
//   BASE_URL        server to load, default http://127.0.0.1:8080
//   DURATION_SCALE  multiplies every stage's duration (default 1 = the seed's
//                   profiles exactly; 0.05 turns a 60 s stage into 3 s)
//   RUN             run number 0..922336, default 0; prefixes every userId so
//                   that repeated phases never reuse ids (see uniqueUserId)
//
// Each phase is a list of steps [vus, seconds]. A step HOLDS its VU level for
// its seconds: the ramping-vus executor gets a 0 s stage that jumps to the
// level, then a stage that keeps it there. That is what the seed's step
// profiles mean (10 -> 50 -> ... VU, 90 s a step), and what results.json's
// `stages` report.
import http from 'k6/http';
import exec from 'k6/execution';
import { Counter } from 'k6/metrics';

export const BASE_URL = (__ENV.BASE_URL || 'http://127.0.0.1:8080').replace(/\/+$/, '');
export const APPLY_PATH = '/coupon/apply';

function positiveNumber(name, text, fallback) {
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) {
    throw new Error(`${name} must be a positive number, got '${text}'`);
  }
  return value;
}

export const DURATION_SCALE = positiveNumber('DURATION_SCALE', __ENV.DURATION_SCALE, 1);

// userIds are decimal strings: RUN, then VU * 10^9 + ITER + 1 padded to 13
// digits. VU < 10^4 and ITER < 10^9 - 1 per VU keep the tail inside 13
// digits, so ids are unique across VUs, iterations and runs, are positive,
// and stay below 2^63 for RUN <= 922336. (Built as a string: JS numbers are
// exact only up to 2^53.)
const MAX_RUN = 922336;
export const RUN = (() => {
  const text = __ENV.RUN;
  if (text === undefined || text === '') return 0;
  if (!/^[0-9]+$/.test(text) || Number(text) > MAX_RUN) {
    throw new Error(`RUN must be an integer 0..${MAX_RUN}, got '${text}'`);
  }
  return Number(text);
})();

export function uniqueUserId(vu, iter) {
  const tail = vu * 1e9 + iter + 1;
  if (RUN === 0) return String(tail);
  return String(RUN) + String(tail).padStart(13, '0');
}

// Seconds after scaling, kept to the millisecond.
function scaled(seconds) {
  return Math.max(1, Math.round(seconds * DURATION_SCALE * 1000)) / 1000;
}

// steps: [[vus, seconds], ...] at scale 1. Returns k6 options with one
// ramping-vus scenario that holds each level for its (scaled) seconds.
export function stepOptions(steps) {
  const stages = [];
  for (const [vus, seconds] of steps) {
    stages.push({ duration: '0s', target: vus });
    stages.push({ duration: `${Math.round(scaled(seconds) * 1000)}ms`, target: vus });
  }
  return {
    scenarios: {
      apply: {
        executor: 'ramping-vus',
        startVUs: steps[0][0],
        stages,
        gracefulRampDown: '30s',
        gracefulStop: '30s',
      },
    },
    // We never read the bodies; the status and the userId are all we keep.
    discardResponseBodies: true,
    summaryTrendStats: ['avg', 'min', 'med', 'max', 'p(90)', 'p(95)', 'p(99)'],
  };
}

// The stages as results.json reports them: [{vus, seconds}] after scaling.
export function reportedStages(steps) {
  return steps.map(([vus, seconds]) => ({ vus, seconds: scaled(seconds) }));
}

// One sample at the start of the phase: its time is the phase's start for
// k6_to_results.py, its tags carry the phase name and the stages.
const phaseMarker = new Counter('coupongate_phase');

export function markPhase(name, steps) {
  phaseMarker.add(1, { phase: name, stages: JSON.stringify(reportedStages(steps)) });
}

// 409 (already has a coupon) and 422 (sold out) are answers this API is
// expected to give, so http_req_failed only counts what really failed.
http.setResponseCallback(http.expectedStatuses(200, 409, 422));

const applyParams = { tags: { name: `POST ${APPLY_PATH}` } };

// One request, no think time (like the seed). The userId goes into the
// samples' metadata, not their tags: a tag per userId would make one k6 time
// series per request. k6's JSON output writes it as "metadata":{"uid":...};
// the status is k6's own `status` tag (0 when there was no answer).
export function applyCoupon() {
  const uid = uniqueUserId(exec.vu.idInTest, exec.vu.iterationInScenario);
  exec.vu.metrics.metadata.uid = uid;
  return http.post(`${BASE_URL}${APPLY_PATH}?userId=${uid}`, null, applyParams);
}
