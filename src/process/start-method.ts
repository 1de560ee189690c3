/**
 * Which start methods exist, which one is the default, and the launcher
 * behind each. Kept apart from the Process class and the contexts so that
 * neither has to import the other.
 */
import type { Launcher } from './launcher.js';

export type StartMethod = 'spawn' | 'forkserver' | 'thread';

export const ALL_START_METHODS: readonly StartMethod[] = ['spawn', 'forkserver', 'thread'];
export const DEFAULT_START_METHOD: StartMethod = 'spawn';

let fixed: StartMethod | null = null;

/** The default method, fixing it if unset (CPython fixes it on first use). */
export function fixDefaultStartMethod(): StartMethod {
  return (fixed ??= DEFAULT_START_METHOD);
}

export function peekDefaultStartMethod(): StartMethod | null {
  return fixed;
}

export function setDefaultStartMethod(method: StartMethod | null): void {
  fixed = method;
}

const launchers = new Map<StartMethod, Launcher>();

export function registerLauncher(method: StartMethod, launcher: Launcher): void {
  launchers.set(method, launcher);
}

export function launcherFor(method: StartMethod): Launcher | undefined {
  return launchers.get(method);
}

export function availableStartMethods(): StartMethod[] {
  return ALL_START_METHODS.filter((m) => launchers.has(m));
}
