// k6 side of bench/generators.py: the phases' request (loadtest/k6/common.js),
// VUs and duration from the command line.
import { applyCoupon } from '../loadtest/k6/common.js';

export const options = { discardResponseBodies: true };

export default function () {
  applyCoupon();
}
