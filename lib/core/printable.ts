// Control characters (C0, DEL, C1) and the bidirectional overrides. Any user can put
// them in an object's name (a valid POSIX name), and printed raw they would drive the
// reader's terminal: retitle it, move the cursor, hide or forge lines.
// eslint-disable-next-line no-control-regex -- matching them is the point
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

const escape = (c: string): string => {
  const code = c.charCodeAt(0);
  return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16)}`;
};

/** `text` with every control character shown as an escape (\x1b, \u202e): for names and messages that others may have chosen. */
export function printable(text: string): string {
  return text.replace(UNPRINTABLE, escape);
}
