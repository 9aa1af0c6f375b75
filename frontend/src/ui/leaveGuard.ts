/**
 * A page with unsaved work registers a guard here so that actions outside it (logging out) ask
 * before throwing the work away. Route changes are guarded by the router's blocker instead.
 */
let guard: (() => boolean) | null = null;

export function setLeaveGuard(next: (() => boolean) | null): void {
  guard = next;
}

/** True when leaving is fine: nothing is unsaved, or the user agreed to lose it. */
export function confirmLeave(): boolean {
  return guard ? guard() : true;
}
