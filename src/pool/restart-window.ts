/**
 * billiard's restart_state: at most `maxRestarts` worker deaths within a
 * sliding window of `windowMs`.
 */
export class RestartWindow {
  private readonly deaths: number[] = [];

  constructor(private readonly maxRestarts: number, private readonly windowMs: number) {}

  /** Record a death; true when the limit is now exceeded. */
  step(now = performance.now()): boolean {
    if (this.maxRestarts === Infinity) return false;
    this.deaths.push(now);
    while (this.deaths.length > 0 && now - this.deaths[0]! > this.windowMs) this.deaths.shift();
    return this.deaths.length > this.maxRestarts;
  }
}
