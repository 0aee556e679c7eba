// Phase 3 - stress: 300 VU x 5 min (the seed's profile; DURATION_SCALE scales it).
import { stepOptions, markPhase, applyCoupon } from './common.js';

const STEPS = [[300, 300]];

export const options = stepOptions(STEPS);
export function setup() { markPhase('stress', STEPS); }
export default function () { applyCoupon(); }
