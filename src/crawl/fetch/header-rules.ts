/**
 * Which request headers a user may set, and why not the others. Shared by the crawl options
 * (`--header`) and anything else that takes user headers, so that every path refuses the same
 * names with the same reasons. Messages never contain a header's value (it may be a cookie or a
 * token), and name a header only once it is known to be a valid name.
 */

/** An HTTP token (RFC 9110 §5.6.2): what a field name must be. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const NOT_TOKEN_CHAR = /[^!#$%&'*+\-.^_`|~0-9A-Za-z]/;
/** What undici accepts in a field value (tab, visible ASCII and obs-text); anything else throws. */
const BAD_VALUE_CHAR = /[^\t\x20-\x7e\x80-\xff]/;

// Headers the HTTP client owns, lower case, with the reason a user may not set them. undici
// itself throws on Transfer-Encoding, Connection values it cannot parse, Keep-Alive, Upgrade and
// Expect, so letting them through would fail every request of the crawl instead of refusing once.
const OWNED: ReadonlyMap<string, string> = new Map([
  [
    'host',
    "trawl sets Host from each request's URL (another Host would ask the server for a different site than the URL, and the scope and address checks would not apply to it)",
  ],
  [
    'content-length',
    'the HTTP client sets Content-Length from the body (a wrong one corrupts the connection)',
  ],
  [
    'transfer-encoding',
    'the HTTP client chooses Transfer-Encoding for the body (a wrong one corrupts the connection)',
  ],
  ['connection', 'the HTTP client manages connections (it keeps them alive and reuses them)'],
  ['keep-alive', 'the HTTP client manages connections (it keeps them alive and reuses them)'],
  ['upgrade', 'a crawl does not switch protocols'],
  ['expect', 'the HTTP client does not support Expect (100-continue)'],
]);

/**
 * The problem with sending a request header `name: value`, as a phrase for an error message, or
 * null when it may be sent. Refused: a name that is not an HTTP token (the message says which
 * character and where, without quoting the name, which may hold a mistyped secret such as
 * `Authorization Bearer x`), a header the HTTP client owns (Host, Content-Length,
 * Transfer-Encoding, Connection, Keep-Alive, Upgrade, Expect; case-insensitive, the reason said),
 * and a value that is not one line of tab / printable ASCII / Latin-1 text (a line break, a
 * control character or a character above U+00FF; the value itself is never quoted). An empty
 * value is allowed.
 */
export function headerProblem(name: string, value: string): string | null {
  if (name === '') return 'a header name is empty';
  if (!TOKEN.test(name)) {
    const bad = NOT_TOKEN_CHAR.exec(name)!;
    const c = bad[0];
    const shown = c === ' ' ? 'a space' : c === '\t' ? 'a tab' : JSON.stringify(c);
    return `a header name may only have letters, digits and !#$%&'*+-.^_\`|~ (this one has ${shown} at character ${bad.index + 1})`;
  }
  const owned = OWNED.get(name.toLowerCase());
  if (owned !== undefined) return `${name} cannot be set: ${owned}`;
  if (typeof value !== 'string') return `the value of ${name} must be a string`;
  const bad = BAD_VALUE_CHAR.exec(value);
  if (bad !== null) {
    const c = bad[0];
    const what =
      c === '\r' || c === '\n'
        ? 'a line break'
        : c.charCodeAt(0) > 0xff
          ? 'a character above U+00FF (percent-encode it)'
          : 'a control character';
    return `the value of ${name} must be one line of text (it has ${what} at character ${bad.index + 1})`;
  }
  return null;
}
