// Phase 4 - spike: 10 VU 60 s -> 1000 VU 60 s -> 10 VU 60 s (the seed's
// profile; DURATION_SCALE scales it).
import { stepOptions, markPhase, applyCoupon } from './common.js';

const STEPS = [[10, 60], [1000, 60], [10, 60]];

export const options = stepOptions(STEPS);
export function setup() { markPhase('spike', STEPS); }
export default function () { applyCoupon(); }
