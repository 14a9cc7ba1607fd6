/**
 * The SSRF guard: a crawler follows links that strangers wrote, so a page must not be able to send
 * it to the machine's own services, the private network or a cloud metadata endpoint. The guard
 * checks the address a host name RESOLVES to, at connect time (inside the socket's `lookup`), so
 * the address checked is the address connected to and DNS rebinding (public answer at check
 * time, private answer at connect time) has no window. IP-literal hosts never reach `lookup`
 * (net.connect skips it), so the guarded connector checks those before connecting.
 */
import {
  lookup as dnsLookup,
  type LookupAddress,
  type LookupAllOptions,
  type LookupOneOptions,
} from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';
import { buildConnector } from 'undici';

/** What an IP address is, for the guard. Everything but 'public' is refused by default. */
export type AddressClass =
  | 'public'
  | 'loopback'
  | 'private'
  | 'link-local'
  | 'unique-local'
  | 'cgnat'
  | 'unspecified'
  | 'multicast'
  | 'reserved';

/** Error code of a refused connection; fetchPage turns it into a FetchError of kind 'ssrf'. */
export const SSRF_CODE = 'ERR_TRAWL_SSRF';

/**
 * A connection the guard refused. `message` is `<host> resolves to <addr> (<class>)` (for an IP
 * literal host, `<addr> is <class>`), the detail of the page's `ssrf: ...` error.
 */
export class SsrfError extends Error {
  override readonly name = 'SsrfError';
  readonly code = SSRF_CODE;
  readonly host: string;
  readonly address: string;
  readonly addressClass: AddressClass;

  constructor(host: string, address: string, cls: AddressClass) {
    super(host === address ? `${address} is ${cls}` : `${host} resolves to ${address} (${cls})`);
    this.host = host;
    this.address = address;
    this.addressClass = cls;
  }
}

function classifyV4(o: readonly number[]): AddressClass {
  const [a, b] = o as [number, number, number, number];
  if (a === 0) return 'unspecified'; // 0.0.0.0/8: "this network"; connecting to 0.0.0.0 reaches localhost
  if (a === 127) return 'loopback';
  if (a === 10) return 'private';
  if (a === 172 && b >= 16 && b <= 31) return 'private';
  if (a === 192 && b === 168) return 'private';
  if (a === 169 && b === 254) return 'link-local'; // incl. 169.254.169.254 cloud metadata
  if (a === 100 && b >= 64 && b <= 127) return 'cgnat';
  if (a >= 224 && a <= 239) return 'multicast';
  if (a >= 240) return 'reserved'; // 240/4 and 255.255.255.255 broadcast
  if (a === 192 && b === 0 && o[2] === 0) return 'reserved'; // 192.0.0.0/24 IETF protocol assignments
  if (a === 198 && (b === 18 || b === 19)) return 'reserved'; // benchmarking 198.18/15
  return 'public';
}

function parseV4(s: string): number[] | null {
  const parts = s.split('.');
  if (parts.length !== 4) return null;
  const out: number[] = [];
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p)) return null;
    const n = Number(p);
    if (n > 255) return null;
    out.push(n);
  }
  return out;
}

/** The 8 16-bit groups of an IPv6 address (zone id dropped, embedded IPv4 tail allowed), or null. */
function parseV6(input: string): number[] | null {
  let s = input;
  const zone = s.indexOf('%');
  if (zone >= 0) s = s.slice(0, zone);
  let tail: number[] = [];
  const lastColon = s.lastIndexOf(':');
  if (s.indexOf('.', lastColon) >= 0) {
    const v4 = parseV4(s.slice(lastColon + 1));
    if (v4 === null) return null;
    tail = [(v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!];
    s = `${s.slice(0, lastColon + 1)}0:0`;
  }
  const halves = s.split('::');
  if (halves.length > 2) return null;
  const group = (h: string): number[] | null => {
    if (h === '') return [];
    const out: number[] = [];
    for (const g of h.split(':')) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return null;
      out.push(Number.parseInt(g, 16));
    }
    return out;
  };
  const head = group(halves[0]!);
  const rest = halves.length === 2 ? group(halves[1]!) : [];
  if (head === null || rest === null) return null;
  let groups: number[];
  if (halves.length === 2) {
    const fill = 8 - head.length - rest.length;
    if (fill < 1) return null;
    groups = [...head, ...new Array<number>(fill).fill(0), ...rest];
  } else {
    groups = head;
  }
  if (groups.length !== 8) return null;
  if (tail.length === 2) {
    groups[6] = tail[0]!;
    groups[7] = tail[1]!;
  }
  return groups;
}

/**
 * Classifies an IP address string (IPv4 dotted quad, or IPv6 in any textual form: compressed,
 * with an embedded IPv4 tail, with a `%zone`, in brackets). IPv4: 0/8 unspecified, 127/8
 * loopback, 10/8 172.16/12 192.168/16 private, 169.254/16 link-local (the cloud metadata address
 * 169.254.169.254 among them), 100.64/10 cgnat, 224/4 multicast, 240/4, 192.0.0/24 and 198.18/15
 * reserved. IPv6: `::` unspecified, `::1` loopback, fe80::/10 link-local, fc00::/7 unique-local,
 * ff00::/8 multicast, fec0::/10 (deprecated site-local) private; IPv4-mapped `::ffff:a.b.c.d`,
 * IPv4-compatible `::a.b.c.d`, NAT64 `64:ff9b::a.b.c.d` and 6to4 `2002:AABB:CCDD::` are classified
 * by the IPv4 address they carry. Returns null for a string that is not an IP address (a host name).
 */
export function classifyAddress(address: string): AddressClass | null {
  let a = address.trim();
  if (a.startsWith('[') && a.endsWith(']')) a = a.slice(1, -1);
  const v = isIP(a.split('%')[0]!);
  if (v === 4) return classifyV4(parseV4(a)!);
  if (v !== 6) return null;
  const g = parseV6(a);
  if (g === null) return null;
  const v4of = (hi: number, lo: number): number[] => [hi >> 8, hi & 0xff, lo >> 8, lo & 0xff];
  const zeros = (n: number): boolean => g.slice(0, n).every((x) => x === 0);
  if (zeros(8)) return 'unspecified';
  if (zeros(7) && g[7] === 1) return 'loopback';
  if (zeros(5) && g[5] === 0xffff) return classifyV4(v4of(g[6]!, g[7]!)); // ::ffff:a.b.c.d
  if (zeros(6)) return classifyV4(v4of(g[6]!, g[7]!)); // ::a.b.c.d (deprecated compatible form)
  if (g[0] === 0x64 && g[1] === 0xff9b && g.slice(2, 6).every((x) => x === 0)) {
    return classifyV4(v4of(g[6]!, g[7]!)); // 64:ff9b::/96 NAT64
  }
  if (g[0] === 0x2002) return classifyV4(v4of(g[1]!, g[2]!)); // 6to4
  const first = g[0]!;
  if ((first & 0xffc0) === 0xfe80) return 'link-local';
  if ((first & 0xffc0) === 0xfec0) return 'private';
  if ((first & 0xfe00) === 0xfc00) return 'unique-local';
  if ((first & 0xff00) === 0xff00) return 'multicast';
  return 'public';
}

/** A `dns.lookup`-compatible resolver (what the guard resolves through; tests inject one). */
export type Resolver = (
  hostname: string,
  options: LookupAllOptions,
  callback: (err: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void,
) => void;

const systemResolver: Resolver = (hostname, options, callback) => dnsLookup(hostname, options, callback);

/** Options of the SSRF guard. */
export interface SsrfOptions {
  /** Connect to non-public addresses anyway (`--allow-private`). */
  allowPrivate?: boolean;
  /**
   * The crawl's seed URLs. When a seed's host is, or resolves to, a non-public address, the user
   * evidently means to crawl such a network, and that address's class is allowed (seeds on
   * 127.0.0.1 allow loopback, not 10/8 nor 169.254.169.254). Seeds are resolved once, on the
   * first connection.
   */
  seeds?: readonly string[];
  /** Resolver used for seeds and connections. Default `dns.lookup` (test-only injection point). */
  resolve?: Resolver;
}

function resolveAll(resolve: Resolver, host: string): Promise<LookupAddress[]> {
  return new Promise((ok, fail) => {
    resolve(host, { all: true }, (err, addrs) => (err ? fail(err) : ok(addrs)));
  });
}

/**
 * The non-public address classes the seeds' hosts are on: IP literals are classified directly,
 * names are resolved through `resolve` (every address counts; a seed that does not resolve
 * grants nothing). Empty when every seed is public. Never rejects.
 */
export async function seedAddressClasses(
  seeds: readonly string[],
  resolve: Resolver = systemResolver,
): Promise<Set<AddressClass>> {
  const classes = new Set<AddressClass>();
  const hosts = new Set<string>();
  for (const s of seeds) {
    try {
      hosts.add(new URL(s).hostname);
    } catch {
      // not a URL: options validation reports it; nothing to allow here
    }
  }
  for (const host of hosts) {
    const lit = classifyAddress(host.startsWith('[') ? host.slice(1, -1) : host);
    if (lit !== null) {
      if (lit !== 'public') classes.add(lit);
      continue;
    }
    try {
      for (const a of await resolveAll(resolve, host)) {
        const cls = classifyAddress(a.address) ?? 'reserved';
        if (cls !== 'public') classes.add(cls);
      }
    } catch {
      // unresolvable seed: it will fail on its own; it grants nothing
    }
  }
  return classes;
}

const ALL_CLASSES: ReadonlySet<AddressClass> = new Set<AddressClass>([
  'loopback',
  'private',
  'link-local',
  'unique-local',
  'cgnat',
  'unspecified',
  'multicast',
  'reserved',
]);

/** The guard's decision procedure, shared by the lookup and the IP-literal check. */
export class SsrfPolicy {
  readonly #resolve: Resolver;
  readonly #allowAll: boolean;
  readonly #seeds: readonly string[];
  #seedDecision: Promise<ReadonlySet<AddressClass>> | undefined;

  constructor(opts: SsrfOptions = {}) {
    this.#resolve = opts.resolve ?? systemResolver;
    this.#allowAll = opts.allowPrivate === true;
    this.#seeds = opts.seeds ?? [];
  }

  /**
   * The non-public address classes that may be connected to: all of them with `allowPrivate`,
   * else those the seeds are on (see {@link seedAddressClasses}). Computed once and cached.
   */
  allowedClasses(): Promise<ReadonlySet<AddressClass>> {
    if (this.#allowAll) return Promise.resolve(ALL_CLASSES);
    this.#seedDecision ??= seedAddressClasses(this.#seeds, this.#resolve);
    return this.#seedDecision;
  }

  /**
   * Checks `host` (a name or an IP literal) and resolves to the addresses a connection may use,
   * in resolver order; rejects with an SsrfError naming the first address whose class is neither
   * public nor allowed (one bad address refuses the host: an attacker's name may answer with
   * both a public and a private address), or with the resolver's error.
   */
  async check(host: string): Promise<LookupAddress[]> {
    const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
    const lit = classifyAddress(bare);
    const addrs: LookupAddress[] =
      lit !== null
        ? [{ address: bare, family: isIP(bare.split('%')[0]!) }]
        : await resolveAll(this.#resolve, bare);
    for (const a of addrs) {
      const cls = classifyAddress(a.address) ?? 'reserved';
      if (cls !== 'public' && !(await this.allowedClasses()).has(cls))
        throw new SsrfError(bare, a.address, cls);
    }
    return addrs;
  }

  /**
   * A `lookup` for net.connect/tls.connect that resolves through {@link check}: the socket then
   * connects to exactly the address that was checked. Honours `all` (Node 20's happy-eyeballs
   * connect asks for all addresses) and `family`.
   */
  lookup(): LookupFunction {
    return ((
      hostname: string,
      options: LookupOneOptions | LookupAllOptions,
      callback: (...args: unknown[]) => void,
    ) => {
      this.check(hostname).then(
        (addrs) => {
          const fam = (options as { family?: number | string }).family;
          const want = fam === 4 || fam === 'IPv4' ? 4 : fam === 6 || fam === 'IPv6' ? 6 : 0;
          const list = want === 0 ? addrs : addrs.filter((a) => a.family === want);
          if (list.length === 0) {
            const err = Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), {
              code: 'ENOTFOUND',
              hostname,
            });
            callback(err);
          } else if ((options as { all?: boolean }).all === true) callback(null, list);
          else callback(null, list[0]!.address, list[0]!.family);
        },
        (err: unknown) => callback(err),
      );
    }) as LookupFunction;
  }
}

/**
 * Wraps undici's connector so every connection goes through the policy: a host name is resolved
 * through `policy.lookup()` (checked at connect time, no rebinding window); an IP-literal host,
 * which net.connect would not look up, is checked before the connector is called. A refused
 * connection fails with an SsrfError (code SSRF_CODE) and no packet is sent to the address.
 */
export function guardedConnector(
  policy: SsrfPolicy,
  options: buildConnector.BuildOptions,
): buildConnector.connector {
  const base = buildConnector({ ...options, lookup: policy.lookup() } as buildConnector.BuildOptions);
  return (opts, callback) => {
    const host = opts.hostname;
    if (classifyAddress(host) === null) {
      base(opts, callback);
      return;
    }
    policy.check(host).then(
      () => base(opts, callback),
      (err: Error) => callback(err, null),
    );
  };
}
