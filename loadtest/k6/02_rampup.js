// Phase 2 - ramp-up: 10 -> 50 -> 100 -> 300 -> 500 -> 1000 VU, 90 s a step,
// each step holding its level (the seed's profile; DURATION_SCALE scales it).
import { stepOptions, markPhase, applyCoupon } from './common.js';

const STEPS = [[10, 90], [50, 90], [100, 90], [300, 90], [500, 90], [1000, 90]];

export const options = stepOptions(STEPS);
export function setup() { markPhase('rampup', STEPS); }
export default function () { applyCoupon(); }
