/**
 * Bodies wrong before any schema sees them: content types other than JSON (or JSON in another
 * charset), text that is not JSON, and JSON whose bytes are not UTF-8.
 */
import fc from 'fast-check';

/** Sent with a valid body; `undefined` sends it with no content type at all. */
export const WRONG_CONTENT_TYPES: readonly (string | undefined)[] = [
  'text/plain',
  'application/xml',
  'multipart/form-data; boundary=x',
  'application/x-www-form-urlencoded',
  'application/json; charset=latin1',
  'application/json; charset=utf-16',
  'application/problem+json',
  'application/jsonx',
  'text/json',
  'json',
  'application/octet-stream',
  undefined,
];

/** Byte sequences UTF-8 does not allow: an ISO-8859-1 é, a lone continuation byte, an encoded surrogate, an overlong '/', a UTF-16 byte order mark. */
export const NOT_UTF8: readonly number[][] = [[0xe9], [0x80], [0xed, 0xa0, 0x80], [0xc0, 0xaf], [0xff, 0xfe]];

/** Text that is not JSON, made from a valid body: cut short, or with a stray character or a construct JSON lacks. */
export function notJson(valid: string): fc.Arbitrary<string> {
  return fc
    .oneof(
      fc.nat({ max: valid.length - 1 }).map((at) => valid.slice(0, at)),
      fc
        .tuple(
          fc.nat({ max: valid.length }),
          fc.constantFrom('{', '}', '[', '"', ',', ':', '\\', 'x', '\u0000', '\n', "'", '\u007f'),
        )
        .map(([at, ch]) => `${valid.slice(0, at)}${ch}${valid.slice(at)}`),
      fc.constantFrom(
        valid.replace(/"/g, "'"),
        `${valid.slice(0, -1)},}`,
        `// comment\n${valid}`,
        `${valid}${valid}`,
        `${valid} x`,
        valid.replace(/:/, ':NaN,"z":'),
        valid.replace(/"/, '"\\x41'),
        valid.replace(/"/, '"\\u12'),
        valid.replace(/"([^"]*)"/, '"$1\t"'),
        `\u0000${valid}`,
      ),
    )
    .filter((text) => {
      try {
        JSON.parse(text);
        return false;
      } catch {
        return true;
      }
    });
}

/** The JSON text of `body` with raw bytes where the marker string stood. */
export function withRawBytes(jsonText: string, marker: string, bytes: readonly number[]): Buffer {
  const at = jsonText.indexOf(marker);
  if (at < 0) throw new Error(`no ${marker} in ${jsonText}`);
  return Buffer.concat([
    Buffer.from(jsonText.slice(0, at)),
    Buffer.from(bytes),
    Buffer.from(jsonText.slice(at + marker.length)),
  ]);
}
