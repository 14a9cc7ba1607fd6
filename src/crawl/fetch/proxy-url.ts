/**
 * Proxy addresses: the `--proxy URL` flag and the conventional HTTP_PROXY / HTTPS_PROXY /
 * NO_PROXY environment, parsed into {@link ProxySpec}s. Pure: no network, no DNS. A proxy URL
 * carries credentials, so nothing here ever puts the user name or password into a message:
 * errors show the input with its userinfo replaced by `***`, and a spec shows itself as its
 * `display` (`scheme://host:port`).
 */
import { BlockList, isIP } from 'node:net';
import { UsageError } from '../usage-error.js';

/** A parsed proxy. */
export interface ProxySpec {
  /** `socks5h://` is read as `socks5`: trawl always resolves target names itself (SSRF guard). */
  protocol: 'http' | 'https' | 'socks5';
  /** Lower-case host name or IP address; an IPv6 address WITHOUT brackets (what net.connect takes). */
  host: string;
  /** The port; 80 / 443 / 1080 for http / https / socks5 when the URL has none. */
  port: number;
  /** Percent-decoded user name, or null when the URL has no userinfo. */
  username: string | null;
  /** Percent-decoded password; null when the userinfo has no `:`. */
  password: string | null;
  /** `scheme://host:port` (IPv6 in brackets): the only way to show a proxy. Never credentials. */
  display: string;
}

const DEFAULT_PORTS: Readonly<Record<ProxySpec['protocol'], number>> = {
  http: 80,
  https: 443,
  socks5: 1080,
};

const SCHEMES: Readonly<Record<string, ProxySpec['protocol']>> = {
  http: 'http',
  https: 'https',
  socks5: 'socks5',
  socks5h: 'socks5',
};

/**
 * The input as it may be shown: everything between `://` (or the start, when there is none) and
 * the LAST `@` (the userinfo, which may itself contain unencoded `/ ? # @`) becomes `***`.
 * Without an `@` the authority (up to the first `/ ? # \`) is shown only when it cannot hold a
 * credential: a host with no `:`, or a bracketed IPv6 host with or without a numeric port; anything else (`user:pass` with
 * the host forgotten, `host:port` with a bad port) is masked whole. Over-redacts rather than
 * under: a user name is often an API key (several commercial proxies take the key as the user
 * name), and a password may look like a port.
 */
function redact(raw: string): string {
  const start = raw.indexOf('://');
  const from = start < 0 ? 0 : start + 3;
  const at = raw.lastIndexOf('@');
  if (at >= from) return `${raw.slice(0, from)}***${raw.slice(at)}`;
  const rest = raw.slice(from);
  const end = rest.search(/[/?#\\]/);
  const authority = end < 0 ? rest : rest.slice(0, end);
  if (!authority.includes(':') || /^\[[0-9A-Fa-f:.]*\](:\d*)?$/.test(authority)) return raw;
  return `${raw.slice(0, from)}***${end < 0 ? '' : rest.slice(end)}`;
}

/**
 * Parses one proxy URL: `http://`, `https://`, `socks5://` or `socks5h://` (scheme
 * case-insensitive), an optional `user:pass@` (both percent-decoded; a userinfo without `:` is a
 * user name with a null password; an empty userinfo, `http://@host`, is no credentials), a host
 * (name, IPv4, or IPv6 in brackets; names are lower-cased and IDNA-converted as WHATWG URL does)
 * and an optional port (1-65535; absent or empty gives the scheme's default 80 / 443 / 1080).
 * Nothing may follow the authority but a single `/`. Leading and trailing blanks are ignored.
 *
 * Throws a one-line {@link UsageError} `<source>: <problem> (got "<input, userinfo as ***>")`
 * for: no `scheme://`, an unsupported scheme (socks4, ftp...), a path / query / fragment, a
 * missing or invalid host, an unbracketed IPv6 address, a bad port, malformed percent-encoding
 * in the credentials, or whitespace / control characters inside. `source` names where the URL
 * came from: the flag (default `--proxy`) or an environment variable.
 */
export function parseProxyUrl(raw: string, source = '--proxy'): ProxySpec {
  const input = raw.trim();
  const fail: (problem: string) => never = (problem) => {
    throw new UsageError(`${source}: ${problem} (got ${JSON.stringify(redact(input))})`);
  };
  if (input === '') fail('empty proxy URL');
  // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
  if (/[\s\u0000-\u001f\u007f]/.test(input)) fail('whitespace or control characters in the proxy URL');
  const m = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\/(.*)$/s.exec(input);
  if (m === null) fail('not a proxy URL (expected scheme://host:port)');
  const scheme = m[1]!.toLowerCase();
  const protocol = SCHEMES[scheme];
  if (protocol === undefined) fail(`unsupported proxy scheme ${scheme} (use http, https or socks5)`);
  const afterScheme = m[2]!;
  // The authority ends at the first / ? # (and \, a path separator in special URLs), as in WHATWG.
  const end = afterScheme.search(/[/?#\\]/);
  const authority = end < 0 ? afterScheme : afterScheme.slice(0, end);
  const rest = end < 0 ? '' : afterScheme.slice(end);
  if (rest !== '' && rest !== '/') fail('a proxy URL has no path, query or fragment');

  let username: string | null = null;
  let password: string | null = null;
  const at = authority.lastIndexOf('@');
  const hostPort = at < 0 ? authority : authority.slice(at + 1);
  if (at > 0) {
    const userinfo = authority.slice(0, at);
    const colon = userinfo.indexOf(':');
    try {
      username = decodeURIComponent(colon < 0 ? userinfo : userinfo.slice(0, colon));
      password = colon < 0 ? null : decodeURIComponent(userinfo.slice(colon + 1));
    } catch {
      fail('malformed percent-encoding in the proxy credentials');
    }
  }

  let hostText: string;
  let portText: string;
  if (hostPort.startsWith('[')) {
    const close = hostPort.indexOf(']');
    if (close < 0) fail('unterminated [ in the proxy host');
    hostText = hostPort.slice(0, close + 1);
    const after = hostPort.slice(close + 1);
    if (after !== '' && !after.startsWith(':')) fail('junk after the bracketed proxy host');
    portText = after.slice(1);
  } else {
    const colon = hostPort.indexOf(':');
    if (colon >= 0 && hostPort.indexOf(':', colon + 1) >= 0) {
      fail('an IPv6 proxy address must be in brackets, e.g. http://[::1]:3128');
    }
    hostText = colon < 0 ? hostPort : hostPort.slice(0, colon);
    portText = colon < 0 ? '' : hostPort.slice(colon + 1);
  }
  if (hostText === '' || hostText === '[]') fail('missing proxy host');

  let host = '';
  try {
    // WHATWG's host parser (lower-casing, IDNA, IPv4 forms, IPv6 validation), on the host alone.
    const u = new URL(`http://${hostText}/`);
    if (u.pathname !== '/' || u.search !== '' || u.hash !== '' || u.port !== '' || u.username !== '') {
      fail('invalid proxy host');
    }
    host = u.hostname;
  } catch (err) {
    if (err instanceof UsageError) throw err;
    fail('invalid proxy host');
  }
  const bracketed = host.startsWith('[');
  if (bracketed) host = host.slice(1, -1);

  let port = DEFAULT_PORTS[protocol];
  if (portText !== '') {
    if (!/^\d{1,5}$/.test(portText)) fail('the proxy port must be a number from 1 to 65535');
    port = Number(portText);
    if (port < 1 || port > 65535) fail('the proxy port must be a number from 1 to 65535');
  }
  const display = `${protocol}://${bracketed ? `[${host}]` : host}:${port}`;
  return { protocol, host, port, username, password, display };
}

/** What {@link proxyEnv} found in the environment. */
export interface ProxyEnv {
  /** The proxy for `http:` targets (http_proxy / HTTP_PROXY), or null. */
  http: ProxySpec | null;
  /** The proxy for `https:` targets (https_proxy / HTTPS_PROXY), or null: no fallback to `http`. */
  https: ProxySpec | null;
  /** True when the target URL is exempt from proxying by no_proxy / NO_PROXY. */
  noProxy: (url: string) => boolean;
}

/** The first of the names that is defined (even empty: an empty lower-case value wins, as in curl). */
function envValue(
  env: Readonly<Record<string, string | undefined>>,
  names: readonly string[],
): { name: string; value: string } | null {
  for (const name of names) {
    const value = env[name];
    if (value !== undefined) return { name, value };
  }
  return null;
}

function envProxy(
  env: Readonly<Record<string, string | undefined>>,
  names: readonly string[],
): ProxySpec | null {
  const found = envValue(env, names);
  if (found === null) return null;
  const value = found.value.trim();
  if (value === '') return null;
  // curl reads a scheme-less proxy in the environment as http://.
  return parseProxyUrl(value.includes('://') ? value : `http://${value}`, found.name);
}

/**
 * Reads the conventional proxy environment the way curl does. `http` comes from `http_proxy`,
 * else `HTTP_PROXY`; `https` from `https_proxy`, else `HTTPS_PROXY`; the exemptions from
 * `no_proxy`, else `NO_PROXY`. The lower-case name wins whenever it is defined, even empty; an
 * empty (or blank) value means none. A value without `scheme://` is read as `http://` (curl);
 * otherwise the value is parsed by {@link parseProxyUrl}, and an invalid one throws its
 * UsageError naming the variable. ALL_PROXY is not read.
 *
 * `noProxy(url)` follows curl's NO_PROXY rules (curl ≥ 7.86): entries are separated by commas
 * and/or blanks and matched case-insensitively; a `*` entry exempts every host; a name entry
 * matches that host and all its subdomains whether or not it starts with a dot (`.example.com`
 * and `example.com` both match `example.com` and `www.example.com`, never `notexample.com`),
 * trailing dots ignored on both sides, `*.example.com` read as `.example.com`; an IP entry (IPv4,
 * IPv6 with or without brackets) matches that address, and with `/bits` the CIDR range (`/0` is
 * the whole family — curl compares exactly there, which is surely not meant). IP entries match
 * only IP-literal targets and name entries only names: nothing is resolved. Beyond curl (which
 * never matches an entry with a port), `host:port` / `[v6]:port` entries match that host on that
 * port only (the URL's port, or 80 / 443 by scheme). Unparseable entries and URLs match nothing.
 */
export function proxyEnv(env: Readonly<Record<string, string | undefined>>): ProxyEnv {
  const http = envProxy(env, ['http_proxy', 'HTTP_PROXY']);
  const https = envProxy(env, ['https_proxy', 'HTTPS_PROXY']);
  const list = envValue(env, ['no_proxy', 'NO_PROXY'])?.value ?? '';
  return { http, https, noProxy: noProxyMatcher(list) };
}

interface NameRule {
  kind: 'name';
  name: string;
  port: number | null;
}
interface IpRule {
  kind: 'ip';
  family: 'ipv4' | 'ipv6';
  list: BlockList;
  port: number | null;
}
type Rule = NameRule | IpRule | { kind: 'all' };

function parsePort(s: string): number | null | undefined {
  if (!/^\d{1,5}$/.test(s)) return undefined;
  const n = Number(s);
  return n >= 1 && n <= 65535 ? n : undefined;
}

/** An IP entry (`addr` or `addr/bits`), or null when it is not one. */
function ipRule(text: string, port: number | null): IpRule | null {
  const slash = text.indexOf('/');
  const addr = slash < 0 ? text : text.slice(0, slash);
  const v = isIP(addr);
  if (v === 0) return null;
  const family = v === 4 ? 'ipv4' : 'ipv6';
  const list = new BlockList();
  if (slash < 0) {
    list.addAddress(addr, family);
  } else {
    const bitsText = text.slice(slash + 1);
    if (!/^\d{1,3}$/.test(bitsText)) return null;
    const bits = Number(bitsText);
    if (bits > (v === 4 ? 32 : 128)) return null;
    list.addSubnet(addr, bits, family);
  }
  return { kind: 'ip', family, list, port };
}

/** One NO_PROXY entry as a rule, or null when it is unusable (curl ignores those too). */
function parseEntry(entry: string): Rule | null {
  if (entry === '*') return { kind: 'all' };
  if (entry.startsWith('[')) {
    const close = entry.indexOf(']');
    if (close < 0) return null;
    const inside = entry.slice(1, close);
    const after = entry.slice(close + 1);
    if (after === '') return ipRule(inside, null);
    if (after.startsWith('/')) return inside.includes('/') ? null : ipRule(inside + after, null);
    if (!after.startsWith(':')) return null;
    const port = parsePort(after.slice(1));
    return port === undefined ? null : ipRule(inside, port);
  }
  if (entry.includes('/')) return ipRule(entry, null);
  if (isIP(entry) !== 0) return ipRule(entry, null);
  let text = entry;
  let port: number | null = null;
  const colon = text.lastIndexOf(':');
  if (colon >= 0) {
    if (text.indexOf(':') !== colon) return null; // an IPv6 address, already handled: junk
    const p = parsePort(text.slice(colon + 1));
    if (p === undefined) return null;
    port = p;
    text = text.slice(0, colon);
    const ip = ipRule(text, port);
    if (ip !== null) return ip;
  }
  if (text.startsWith('*.')) text = text.slice(1);
  if (text.startsWith('.')) text = text.slice(1);
  if (text.endsWith('.')) text = text.slice(0, -1);
  if (text === '' || text.includes('*')) return null;
  return { kind: 'name', name: text, port };
}

const SCHEME_PORTS: Readonly<Record<string, number>> = { 'http:': 80, 'https:': 443 };

/**
 * The NO_PROXY predicate of a list (the rules are documented at {@link proxyEnv}). An empty list
 * exempts nothing.
 */
export function noProxyMatcher(list: string): (url: string) => boolean {
  const rules: Rule[] = [];
  for (const entry of list.toLowerCase().split(/[\s,]+/)) {
    if (entry === '') continue;
    const rule = parseEntry(entry);
    if (rule !== null) rules.push(rule);
  }
  if (rules.length === 0) return () => false;
  if (rules.some((r) => r.kind === 'all')) return () => true;
  return (url: string): boolean => {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      return false;
    }
    let host = u.hostname.toLowerCase();
    if (host === '') return false;
    const port = u.port !== '' ? Number(u.port) : (SCHEME_PORTS[u.protocol] ?? null);
    let family: 'ipv4' | 'ipv6' | null = null;
    if (host.startsWith('[') && host.endsWith(']')) {
      host = host.slice(1, -1);
      family = 'ipv6';
    } else if (isIP(host) === 4) {
      family = 'ipv4';
    } else if (host.endsWith('.')) {
      host = host.slice(0, -1);
    }
    for (const r of rules) {
      if (r.kind === 'all') return true;
      if (r.port !== null && r.port !== port) continue;
      if (r.kind === 'ip') {
        if (family !== null && r.list.check(host, family)) return true;
      } else if (family === null && (host === r.name || host.endsWith(`.${r.name}`))) {
        return true;
      }
    }
    return false;
  };
}
