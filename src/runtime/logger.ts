// A small leveled logger writing to stderr (stdout belongs to command output
// and --json). Every message passes through redact() (./redact.ts) so a
// password that slipped into a message never reaches a log.

import { redact } from "./redact.ts";

export type LogLevel = "debug" | "info" | "warn" | "error";

export interface Logger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

const order: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

export function createLogger(options: {
  level: LogLevel;
  write?: (line: string) => void;
  now?: () => Date;
}): Logger {
  const write = options.write ?? ((line: string) => process.stderr.write(line + "\n"));
  const log = (level: LogLevel) => (message: string) => {
    if (order[level] < order[options.level]) return;
    const prefix = level === "info" ? "" : `${level}: `;
    write(redact(prefix + message));
  };
  return { debug: log("debug"), info: log("info"), warn: log("warn"), error: log("error") };
}

export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
