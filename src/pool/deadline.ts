/**
 * A timer for a wall-clock deadline that never fires early. Node's timers
 * count whole milliseconds from the event loop's cached clock, so a plain
 * setTimeout can run up to ~1.5 ms before the deadline: re-arm for the rest.
 */
import { nowMs } from './protocol.js';

export interface Deadline {
  cancel(): void;
}

export function atDeadline(deadline: number, fire: () => void): Deadline {
  let timer: NodeJS.Timeout;
  const arm = () => {
    const left = deadline - nowMs();
    if (left <= 0) fire();
    else timer = setTimeout(arm, Math.ceil(left));
  };
  timer = setTimeout(arm, Math.max(0, Math.ceil(deadline - nowMs())));
  return { cancel: () => clearTimeout(timer) };
}
