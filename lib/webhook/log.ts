// Structured logs: one JSON object per line, the shape log collectors parse without help.
export type Level = 'info' | 'warn' | 'error';
export type Logger = (level: Level, msg: string, fields?: Record<string, unknown>) => void;

export function jsonLogger(stream: NodeJS.WritableStream = process.stdout): Logger {
  return (level, msg, fields = {}) => {
    const entry: Record<string, unknown> = { time: new Date().toISOString(), level, msg };
    for (const [k, v] of Object.entries(fields)) if (v !== undefined) entry[k] = v;
    stream.write(JSON.stringify(entry) + '\n');
  };
}
