/**
 * Cookies between a session's jar and its browser context. Playwright speaks its own cookie shape
 * (`expires` in unix seconds with -1 for a session cookie, a leading dot on the domain of a
 * cookie that also goes to subdomains); trawl's jars speak NetscapeCookie (expires 0 for a
 * session cookie, `includeSubdomains`). These convert one to the other losslessly for every
 * field NetscapeCookie has (SameSite is not kept: Chromium applies its default, Lax).
 */
import type { Cookie } from 'playwright-core';
import type { NetscapeCookie } from '../fetch/cookies-txt.js';

/** A cookie as `BrowserContext.addCookies` takes it. */
export interface PlaywrightCookieParam {
  name: string;
  value: string;
  domain: string;
  path: string;
  expires: number;
  httpOnly: boolean;
  secure: boolean;
}

/**
 * The Playwright form of a jar cookie: a domain cookie gets the leading dot (Chromium then sends
 * it to subdomains too), a host-only one none; `expires` 0 (session) becomes -1; IPv6 hosts keep
 * their bare form.
 */
export function toPlaywrightCookie(c: NetscapeCookie): PlaywrightCookieParam {
  return {
    name: c.name,
    value: c.value,
    domain: c.includeSubdomains ? `.${c.domain}` : c.domain,
    path: c.path,
    expires: c.expires === 0 ? -1 : c.expires,
    httpOnly: c.httpOnly,
    secure: c.secure,
  };
}

/**
 * The jar form of a cookie read back with `BrowserContext.cookies()`: the leading dot becomes
 * `includeSubdomains`, `expires` -1 (or any value ≤ 0) becomes 0 and fractional seconds are
 * rounded up (so a cookie never comes back expiring earlier than Chromium says).
 */
export function fromPlaywrightCookie(c: Cookie): NetscapeCookie {
  const dotted = c.domain.startsWith('.');
  return {
    domain: (dotted ? c.domain.slice(1) : c.domain).toLowerCase(),
    includeSubdomains: dotted,
    path: c.path === '' ? '/' : c.path,
    secure: c.secure,
    httpOnly: c.httpOnly,
    expires: c.expires > 0 ? Math.ceil(c.expires) : 0,
    name: c.name,
    value: c.value,
  };
}
