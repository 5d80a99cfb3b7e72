/** Plain line logs with a component name; the stack prefixes each process's lines. */
export interface Logger {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

export function createLogger(component: string): Logger {
  const line = (level: string, message: string) => `${new Date().toISOString()} ${level} [${component}] ${message}`;
  return {
    info: (m) => console.log(line('INFO ', m)),
    warn: (m) => console.warn(line('WARN ', m)),
    error: (m) => console.error(line('ERROR', m)),
  };
}
