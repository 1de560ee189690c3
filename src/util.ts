/**
 * The package logger (CPython's multiprocessing.util logger): silent until
 * `logToStderr()` turns it on, then lines go to stderr tagged with the
 * process name.
 */
import { format } from 'node:util';

export type LogLevel = 'debug' | 'info' | 'warning' | 'error' | 'critical' | number;

const levels: Record<Exclude<LogLevel, number>, number> = { debug: 10, info: 20, warning: 30, error: 40, critical: 50 };

export interface Logger {
  readonly name: string;
  level: number;
  setLevel(level: LogLevel): void;
  isEnabledFor(level: LogLevel): boolean;
  debug(...args: unknown[]): void;
  info(...args: unknown[]): void;
  warning(...args: unknown[]): void;
  error(...args: unknown[]): void;
  critical(...args: unknown[]): void;
}

const numeric = (level: LogLevel): number => (typeof level === 'number' ? level : levels[level]);

let sink: ((line: string) => void) | null = null;
let processName: () => string = () => 'MainProcess';

/** @internal The logger prefixes lines with the current process name. */
export function setProcessNameSource(source: () => string): void {
  processName = source;
}

function emit(logger: Logger, level: Exclude<LogLevel, number>, args: unknown[]): void {
  if (!sink || !logger.isEnabledFor(level)) return;
  sink(`[${level.toUpperCase()}/${processName()}] ${format(...args)}\n`);
}

const logger: Logger = {
  name: 'billiard',
  level: 30,
  setLevel(level) { this.level = numeric(level); },
  isEnabledFor(level) { return numeric(level) >= this.level; },
  debug(...args) { emit(this, 'debug', args); },
  info(...args) { emit(this, 'info', args); },
  warning(...args) { emit(this, 'warning', args); },
  error(...args) { emit(this, 'error', args); },
  critical(...args) { emit(this, 'critical', args); },
};

export function getLogger(): Logger {
  return logger;
}

/** Send the package's log to stderr, optionally setting its level. */
export function logToStderr(level?: LogLevel): Logger {
  sink = (line) => process.stderr.write(line);
  if (level !== undefined) logger.setLevel(level);
  return logger;
}
