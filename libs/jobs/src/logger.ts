/**
 * Structured logs (pino) for every process: one JSON object per line (`level`, `time`, `pid`,
 * `component`, `msg`, plus fields such as `request_id`, `job_id`, `shard`), or readable colored
 * lines when stdout is a terminal (pino-pretty). The level comes from LOG_LEVEL (default info).
 */
import pino, { type Logger as PinoLogger } from 'pino';
import pretty from 'pino-pretty';

/** Extra fields of a log line (ids, counts); never secrets. */
export type LogFields = Record<string, unknown>;

export interface Logger {
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
}

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * Paths pino replaces with "[redacted]" wherever a caller passes them by mistake: credentials of
 * requests (API keys) and webhook secrets never reach a log line.
 */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'req.headers.cookie',
  'secret',
  'webhook.secret',
  'webhookSecret',
  '*.secret',
  '*.webhookSecret',
];

/** LOG_LEVEL, checked (config/sections.ts declares it; a bad value is reported there and falls back to info here). */
export function logLevelFromEnv(env: NodeJS.ProcessEnv = process.env): LogLevel {
  const raw = env.LOG_LEVEL?.trim().toLowerCase();
  return raw && (LOG_LEVELS as readonly string[]).includes(raw) ? (raw as LogLevel) : 'info';
}

let root: PinoLogger | undefined;

/** The process's pino logger (one destination per process, written synchronously so lines before an exit are not lost). */
export function rootLogger(): PinoLogger {
  if (root) return root;
  const options: pino.LoggerOptions = {
    level: logLevelFromEnv(),
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
  };
  const tty = Boolean(process.stdout.isTTY) && process.env.NO_COLOR === undefined;
  root = tty
    ? pino(options, pretty({ colorize: true, sync: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'hostname' }))
    : pino(options, pino.destination({ fd: 1, sync: true }));
  return root;
}

/** A logger whose lines carry `component` (and any fixed fields, e.g. the device). */
export function createLogger(component: string, fields: LogFields = {}): Logger {
  return wrap(rootLogger().child({ component, ...fields }));
}

/** The same logger with more fixed fields on each line (e.g. `request_id`, `job_id`). */
export function childLogger(log: Logger, fields: LogFields): Logger {
  const p = (log as Partial<WrappedLogger>).pino;
  if (p) return wrap(p.child(fields));
  return {
    info: (m, f) => log.info(m, { ...fields, ...f }),
    warn: (m, f) => log.warn(m, { ...fields, ...f }),
    error: (m, f) => log.error(m, { ...fields, ...f }),
  };
}

interface WrappedLogger extends Logger {
  pino: PinoLogger;
}

function wrap(p: PinoLogger): WrappedLogger {
  return {
    pino: p,
    info: (m, f) => (f ? p.info(f, m) : p.info(m)),
    warn: (m, f) => (f ? p.warn(f, m) : p.warn(m)),
    error: (m, f) => (f ? p.error(f, m) : p.error(m)),
  };
}
