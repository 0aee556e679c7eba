// Phase 1 - baseline: 10 VU x 60 s (the seed's profile; DURATION_SCALE scales it).
import { stepOptions, markPhase, applyCoupon } from './common.js';

const STEPS = [[10, 60]];

export const options = stepOptions(STEPS);
export function setup() { markPhase('baseline', STEPS); }
export default function () { applyCoupon(); }
