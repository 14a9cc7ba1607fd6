import { describe, expect, it } from 'vitest';
import { noProxyMatcher, parseProxyUrl, proxyEnv } from '../../src/crawl/fetch/proxy-url.js';
import { UsageError } from '../../src/crawl/usage-error.js';

/** The UsageError `fn` throws (fails the test when it throws nothing or something else). */
function usageError(fn: () => unknown): UsageError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    return err as UsageError;
  }
  throw new Error('expected a UsageError');
}

describe('parseProxyUrl accepts', () => {
  it('http, https and socks5 URLs with explicit ports', () => {
    expect(parseProxyUrl('http://127.0.0.1:3128')).toEqual({
      protocol: 'http',
      host: '127.0.0.1',
      port: 3128,
      username: null,
      password: null,
      display: 'http://127.0.0.1:3128',
    });
    expect(parseProxyUrl('https://proxy.example:8443').display).toBe('https://proxy.example:8443');
    expect(parseProxyUrl('socks5://localhost:9050').display).toBe('socks5://localhost:9050');
  });

  it('gives the default port of each scheme when the URL has none', () => {
    expect(parseProxyUrl('http://proxy.example').port).toBe(80);
    expect(parseProxyUrl('https://proxy.example').port).toBe(443);
    expect(parseProxyUrl('socks5://proxy.example').port).toBe(1080);
    expect(parseProxyUrl('http://proxy.example:').port).toBe(80);
  });

  it('keeps an explicit port equal to another scheme default (socks5 on 80, http on 443)', () => {
    expect(parseProxyUrl('socks5://proxy.example:80').port).toBe(80);
    expect(parseProxyUrl('http://proxy.example:443').port).toBe(443);
    expect(parseProxyUrl('https://proxy.example:80').port).toBe(80);
  });

  it('reads socks5h as socks5 (trawl resolves names itself)', () => {
    const p = parseProxyUrl('socks5h://127.0.0.1:1080');
    expect(p.protocol).toBe('socks5');
    expect(p.display).toBe('socks5://127.0.0.1:1080');
  });

  it('takes the scheme case-insensitively and lower-cases the host', () => {
    const p = parseProxyUrl('HTTP://Proxy.EXAMPLE:3128');
    expect(p.protocol).toBe('http');
    expect(p.host).toBe('proxy.example');
    expect(p.display).toBe('http://proxy.example:3128');
  });

  it('decodes user and password and keeps them out of display', () => {
    const p = parseProxyUrl('http://us%40er:p%3Ass%2Fw%25rd@127.0.0.1:3128');
    expect(p.username).toBe('us@er');
    expect(p.password).toBe('p:ss/w%rd');
    expect(p.display).toBe('http://127.0.0.1:3128');
    expect(JSON.stringify(p.display)).not.toContain('p:ss');
  });

  it('reads a userinfo without colon as a user with a null password, and an empty password as empty', () => {
    expect(parseProxyUrl('socks5://token@127.0.0.1:1080')).toMatchObject({
      username: 'token',
      password: null,
    });
    expect(parseProxyUrl('http://apikey:@127.0.0.1:3128')).toMatchObject({
      username: 'apikey',
      password: '',
    });
    expect(parseProxyUrl('http://@127.0.0.1:3128')).toMatchObject({ username: null, password: null });
  });

  it('splits user and password at the first colon and the host at the last @', () => {
    const p = parseProxyUrl('http://user:pa:ss@word@127.0.0.1:3128');
    expect(p).toMatchObject({ username: 'user', password: 'pa:ss@word', host: '127.0.0.1' });
  });

  it('takes an IPv6 address in brackets, stores it bare and shows it bracketed', () => {
    const p = parseProxyUrl('socks5://[::1]:1080');
    expect(p.host).toBe('::1');
    expect(p.display).toBe('socks5://[::1]:1080');
    expect(parseProxyUrl('http://[0:0::1]').display).toBe('http://[::1]:80');
  });

  it('allows a single trailing slash and surrounding blanks', () => {
    expect(parseProxyUrl('  http://127.0.0.1:3128/ ').display).toBe('http://127.0.0.1:3128');
  });
});

describe('parseProxyUrl refuses', () => {
  const cases: [string, RegExp][] = [
    ['', /empty/],
    ['127.0.0.1:3128', /not a proxy URL/],
    ['not a url', /whitespace/],
    ['http://127.0.0.1:3128/path', /no path, query or fragment/],
    ['http://127.0.0.1:3128?x=1', /no path, query or fragment/],
    ['http://127.0.0.1:3128#frag', /no path, query or fragment/],
    ['http://127.0.0.1:3128\\x', /no path, query or fragment/],
    ['socks4://127.0.0.1:1080', /unsupported proxy scheme socks4/],
    ['socks4a://127.0.0.1:1080', /unsupported proxy scheme socks4a/],
    ['ftp://127.0.0.1:21', /unsupported proxy scheme ftp/],
    ['http://', /missing proxy host/],
    ['http://:3128', /missing proxy host/],
    ['http://user:pw@:3128', /missing proxy host/],
    ['http://[]:3128', /missing proxy host/],
    ['http://[::1:3128', /unterminated/],
    ['http://[::1]x', /junk/],
    ['http://::1:3128', /IPv6 proxy address must be in brackets/],
    ['http://[zz::1]:3128', /invalid proxy host/],
    ['http://exa<mple:3128', /invalid proxy host/],
    ['http://127.0.0.1:0', /port/],
    ['http://127.0.0.1:65536', /port/],
    ['http://127.0.0.1:http', /port/],
    ['http://127.0.0.1:-1', /port/],
    ['http://us%zzer:pw@127.0.0.1:3128', /percent-encoding/],
  ];
  for (const [raw, problem] of cases) {
    it(`${JSON.stringify(raw)} with one line naming --proxy and the problem`, () => {
      const e = usageError(() => parseProxyUrl(raw));
      expect(e.message).toMatch(/^--proxy: /);
      expect(e.message).toMatch(problem);
      expect(e.message).not.toContain('\n');
    });
  }

  it('names the source given instead of --proxy', () => {
    expect(usageError(() => parseProxyUrl('ftp://127.0.0.1', 'HTTPS_PROXY')).message).toMatch(
      /^HTTPS_PROXY: /,
    );
  });

  it('never echoes the password (nor the user name, often an API key) in a message', () => {
    const secret = 'S3cr3tPw';
    const bad = [
      `socks4://user:${secret}@127.0.0.1:1080`,
      `http://user:${secret}@127.0.0.1:3128/path`,
      `http://user:${secret}@127.0.0.1:99999`,
      `http://user:${secret}@[::1:3128`,
      `http://user:${secret}@::1:3128`,
      `http://user:${secret}@:3128`,
      `http://user:${secret}%zz@127.0.0.1:3128`,
      `http://user:${secret}/x@127.0.0.1:3128`,
      `http://user:${secret}?#@127.0.0.1:3128`,
      `http://user:${secret}@127.0.0.1:3128?q`,
      `http://${secret}@127.0.0.1:3128/x`,
      `http://user:${secret} @127.0.0.1:3128`,
    ];
    for (const raw of bad) {
      const e = usageError(() => parseProxyUrl(raw));
      expect(e.message, raw).not.toContain(secret);
      expect(e.message, raw).toContain('***@');
    }
  });

  it('shows the rest of the input so the user sees what is wrong', () => {
    const e = usageError(() => parseProxyUrl('socks4://user:pw@127.0.0.1:1080'));
    expect(e.message).toBe(
      '--proxy: unsupported proxy scheme socks4 (use http, https or socks5) (got "socks4://***@127.0.0.1:1080")',
    );
  });
});

describe('proxyEnv', () => {
  it('reads nothing from an empty environment', () => {
    const env = proxyEnv({});
    expect(env.http).toBeNull();
    expect(env.https).toBeNull();
    expect(env.noProxy('http://127.0.0.1/')).toBe(false);
  });

  it('takes HTTP_PROXY and HTTPS_PROXY separately (no https fallback to the http proxy)', () => {
    const env = proxyEnv({ HTTP_PROXY: 'http://127.0.0.1:3128' });
    expect(env.http?.display).toBe('http://127.0.0.1:3128');
    expect(env.https).toBeNull();
    const both = proxyEnv({ HTTP_PROXY: 'http://127.0.0.1:3128', HTTPS_PROXY: 'socks5://127.0.0.2:1080' });
    expect(both.https?.display).toBe('socks5://127.0.0.2:1080');
  });

  it('lets the lower-case variable win over the upper-case one, as curl', () => {
    const env = proxyEnv({
      http_proxy: 'http://127.0.0.1:1111',
      HTTP_PROXY: 'http://127.0.0.1:2222',
      https_proxy: 'http://127.0.0.1:3333',
      HTTPS_PROXY: 'http://127.0.0.1:4444',
      no_proxy: 'lower.example',
      NO_PROXY: 'upper.example',
    });
    expect(env.http?.port).toBe(1111);
    expect(env.https?.port).toBe(3333);
    expect(env.noProxy('http://lower.example/')).toBe(true);
    expect(env.noProxy('http://upper.example/')).toBe(false);
  });

  it('lets a defined but empty lower-case variable disable the upper-case one', () => {
    const env = proxyEnv({
      http_proxy: '',
      HTTP_PROXY: 'http://127.0.0.1:2222',
      no_proxy: '',
      NO_PROXY: '*',
    });
    expect(env.http).toBeNull();
    expect(env.noProxy('http://127.0.0.1/')).toBe(false);
  });

  it('reads a scheme-less value as http://, as curl', () => {
    expect(proxyEnv({ HTTPS_PROXY: 'proxy.example:3128' }).https?.display).toBe('http://proxy.example:3128');
  });

  it('keeps the credentials of an environment proxy', () => {
    expect(proxyEnv({ https_proxy: 'http://u:p%40ss@127.0.0.1:3128' }).https).toMatchObject({
      username: 'u',
      password: 'p@ss',
    });
  });

  it('refuses an invalid proxy naming the variable, without its password', () => {
    const e = usageError(() => proxyEnv({ HTTPS_PROXY: 'socks4://u:hunter2@127.0.0.1:1080' }));
    expect(e.message).toMatch(/^HTTPS_PROXY: unsupported proxy scheme socks4/);
    expect(e.message).not.toContain('hunter2');
    const lower = usageError(() => proxyEnv({ http_proxy: 'http://127.0.0.1:3128/x' }));
    expect(lower.message).toMatch(/^http_proxy: /);
  });
});

describe('NO_PROXY matching (curl rules)', () => {
  const matrix: [list: string, url: string, exempt: boolean][] = [
    // domains and subdomains, with or without a leading dot
    ['example.com', 'http://example.com/', true],
    ['example.com', 'http://www.example.com/', true],
    ['example.com', 'https://a.b.example.com/x', true],
    ['example.com', 'http://notexample.com/', false],
    ['example.com', 'http://example.com.org/', false],
    ['.example.com', 'http://example.com/', true],
    ['.example.com', 'http://www.example.com/', true],
    ['.example.com', 'http://notexample.com/', false],
    ['*.example.com', 'http://www.example.com/', true],
    ['www.example.com', 'http://example.com/', false],
    // case and trailing dots
    ['EXAMPLE.com', 'http://Www.Example.COM/', true],
    ['example.com.', 'http://www.example.com/', true],
    ['example.com', 'http://www.example.com./', true],
    // separators
    ['a.example, b.example', 'http://b.example/', true],
    ['a.example b.example', 'http://b.example/', true],
    [' ,a.example,,\tb.example, ', 'http://b.example/', true],
    ['a.example,b.example', 'http://c.example/', false],
    // any port for a bare name; host:port entries only that port (default port by scheme)
    ['example.com', 'http://example.com:8080/', true],
    ['example.com:8080', 'http://example.com:8080/', true],
    ['example.com:8080', 'http://www.example.com:8080/', true],
    ['example.com:8080', 'http://example.com:8081/', false],
    ['example.com:8080', 'http://example.com/', false],
    ['example.com:443', 'https://example.com/', true],
    ['example.com:80', 'https://example.com/', false],
    ['localhost:3000', 'http://localhost:3000/', true],
    // IPv4: exact, CIDR, with port; never a name match and never resolved
    ['127.0.0.1', 'http://127.0.0.1:8080/', true],
    ['127.0.0.1', 'http://127.0.0.2/', false],
    ['127.0.0.0/8', 'http://127.1.2.3/', true],
    ['127.0.0.0/8', 'http://128.0.0.1/', false],
    ['192.168.1.77/16', 'http://192.168.200.1/', true],
    ['192.168.0.0/24', 'http://192.168.1.1/', false],
    ['10.0.0.1/32', 'http://10.0.0.1/', true],
    ['0.0.0.0/0', 'http://203.0.113.9/', true],
    ['127.0.0.1:8080', 'http://127.0.0.1:8080/', true],
    ['127.0.0.1:8080', 'http://127.0.0.1:9090/', false],
    ['127.0.0.1', 'http://localhost/', false],
    ['localhost', 'http://127.0.0.1/', false],
    ['0.0.1', 'http://127.0.0.1/', false],
    // IPv6: bare, bracketed, CIDR, with port
    ['::1', 'http://[::1]:8080/', true],
    ['[::1]', 'http://[::1]/', true],
    ['0:0::1', 'http://[::1]/', true],
    ['[::1]:8080', 'http://[::1]:8080/', true],
    ['[::1]:8080', 'http://[::1]:8081/', false],
    ['fd00::/8', 'http://[fd12:3456::1]/', true],
    ['[fd00::]/8', 'http://[fd12:3456::1]/', true],
    ['fd00::/8', 'http://[fe80::1]/', false],
    ['::1', 'http://127.0.0.1/', false],
    ['127.0.0.1', 'http://[::2]/', false],
    // the wildcard
    ['*', 'http://anything.example/', true],
    ['*', 'http://[::1]/', true],
    ['a.example,*', 'http://b.example/', true],
    // unusable entries match nothing, and exempt nothing else
    ['', 'http://example.com/', false],
    ['.', 'http://example.com/', false],
    ['127.0.0.1/33', 'http://127.0.0.1/', false],
    ['example.com:99999', 'http://example.com/', false],
    ['ex*ample.com', 'http://example.com/', false],
    ['[::1', 'http://[::1]/', false],
    ['example.com', 'not a url', false],
  ];
  for (const [list, url, exempt] of matrix) {
    it(`${JSON.stringify(list)} ${exempt ? 'exempts' : 'does not exempt'} ${url}`, () => {
      expect(noProxyMatcher(list)(url)).toBe(exempt);
      expect(proxyEnv({ NO_PROXY: list }).noProxy(url)).toBe(exempt);
    });
  }
});
