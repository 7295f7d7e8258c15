/** The server clock: the only reader of the time. Tests inject a manual clock to jump past expiries. */

export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

export class ManualClock implements Clock {
  #now: number;
  constructor(start: number) {
    this.#now = start;
  }
  now(): number {
    return this.#now;
  }
  advance(milliseconds: number): void {
    this.#now += milliseconds;
  }
  set(at: number): void {
    this.#now = at;
  }
}
