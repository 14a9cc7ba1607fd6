/**
 * The test site's members area, for session, cookie and rotation tests: `/login` (a form with a
 * hidden token; a right POST sets an HttpOnly session cookie and redirects to `/members/`),
 * `/members/*` pages that redirect to `/login` without a valid session, and a guard that answers
 * 403 to a session once it has made more than `blockAfter` requests anywhere on the site. Counts
 * logins and requests per session so tests can assert what a crawler did.
 */
import { createHmac, randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { escapeHtml } from './site.js';

/** Options of the members area (the test site's `members` option). */
export interface MembersOptions {
  /**
   * A session's requests (counted as in {@link SessionStats.requests}) beyond this number get
   * 403 on every path but `/login`. Default Infinity (never blocked).
   */
  blockAfter?: number;
  /** The accepted username. Default {@link MEMBERS_USER}. */
  username?: string;
  /** The accepted password. Default {@link MEMBERS_PASSWORD}. */
  password?: string;
  /** Number of member pages besides the index `/members/`. Default 5. */
  pages?: number;
}

/** Default username of the members area. */
export const MEMBERS_USER = 'member';
/** Default password of the members area. */
export const MEMBERS_PASSWORD = 'secret';
/** Name of the session cookie set by a successful login. */
export const SESSION_COOKIE = 'trawl_session';
/** Form field names of the login form. */
export const LOGIN_FIELDS = { username: 'username', password: 'password', token: 'csrf' } as const;
/** Largest login POST body read; a longer one gets 413. */
const MAX_FORM_BYTES = 16 * 1024;
const HTML = 'text/html; charset=utf-8';

/** What the site knows about one session (one successful login without a valid cookie). */
export interface SessionStats {
  /** The cookie value. */
  readonly id: string;
  /**
   * Successful logins on this session: 1 for the login that created it, plus one for every
   * further right POST /login that carried this session's cookie while it was valid.
   */
  logins: number;
  /** Requests that carried this session's cookie, any path and method, `/login` included. */
  requests: number;
  /** Of those, how many the guard answered 403. */
  blocked: number;
}

/**
 * Builds the members area. Its {@link MembersArea.handle} is called by the server for every
 * request before any other route. Sessions live as long as the area (a site `reset()` keeps
 * them, so a resumed crawl's restored cookie is still valid).
 */
export function createMembersArea(opts: MembersOptions = {}): MembersArea {
  return new MembersArea(opts);
}

/** The members area of one test site; see {@link createMembersArea}. */
export class MembersArea {
  readonly username: string;
  readonly password: string;
  readonly blockAfter: number;
  /** Paths of the member pages: `/members/` first, then `/members/1` … `/members/N`. */
  readonly paths: readonly string[];
  /** Every session by cookie value, in order of creation. */
  readonly sessions = new Map<string, SessionStats>();
  private successes = 0;
  private failures = 0;
  private issued = 0;
  // Tokens are an HMAC of a counter under a per-area secret: stateless to check, and a token
  // from another site instance (another secret) is refused, as a real CSRF check would.
  private readonly secret = randomBytes(16);

  constructor(opts: MembersOptions) {
    this.username = opts.username ?? MEMBERS_USER;
    this.password = opts.password ?? MEMBERS_PASSWORD;
    this.blockAfter = Math.max(0, opts.blockAfter ?? Number.POSITIVE_INFINITY);
    const n = Math.max(1, Math.floor(opts.pages ?? 5));
    this.paths = ['/members/', ...Array.from({ length: n }, (_, i) => `/members/${i + 1}`)];
  }

  /** Successful logins in total (new sessions plus re-logins). */
  get logins(): number {
    return this.successes;
  }

  /** POSTs to /login refused (bad token: 400, wrong credentials: 401, too large: 413). */
  get failedLogins(): number {
    return this.failures;
  }

  /**
   * The session a `Cookie` request header value names, or undefined if it names none this area
   * issued.
   */
  sessionOf(cookieHeader: string | undefined): SessionStats | undefined {
    const id = cookieValue(cookieHeader, SESSION_COOKIE);
    return id === undefined ? undefined : this.sessions.get(id);
  }

  /**
   * Handles `req` if it is the members area's business and returns true; returns false to let
   * the site serve it. In order: a request carrying a known session cookie counts toward that
   * session's `requests`; `/login` is served (GET/HEAD: the form; POST: a login attempt; other
   * methods: 405); a session past `blockAfter` gets 403 on any other path; `/members` and
   * `/members/...` without a valid session get 302 to `/login`, with one the member page or 404.
   */
  handle(req: IncomingMessage, res: ServerResponse, path: string): boolean {
    const session = this.sessionOf(req.headers.cookie);
    if (session !== undefined) session.requests++;
    if (path === '/login') {
      if (req.method === 'POST') this.login(req, res, session);
      else if (req.method === 'GET' || req.method === 'HEAD') this.form(res, 200, '');
      else {
        res.writeHead(405, { allow: 'GET, HEAD, POST', 'content-length': 0 });
        res.end();
      }
      return true;
    }
    if (session !== undefined && session.requests > this.blockAfter) {
      session.blocked++;
      page(res, 403, 'Forbidden', '<p>Too many requests from this session.</p>\n');
      return true;
    }
    if (path !== '/members' && !path.startsWith('/members/')) return false;
    if (session === undefined) {
      res.writeHead(302, { location: '/login', 'content-length': 0 });
      res.end();
      return true;
    }
    const k = this.paths.indexOf(path);
    if (k < 0) {
      page(res, 404, '404', `<p>Not found: ${escapeHtml(path)}</p>\n`);
      return true;
    }
    const links = this.paths
      .filter((p) => p !== path)
      .map(
        (p) =>
          `<li><a href="${p}">${p === '/members/' ? 'Members home' : `Member page ${p.slice(9)}`}</a></li>\n`,
      )
      .join('');
    const title = k === 0 ? 'Members home' : `Member page ${k}`;
    page(res, 200, title, `<p>Members only: ${title}.</p>\n<nav><ul>\n${links}</ul></nav>\n`);
    return true;
  }

  /** Sends the login form with a fresh token and an optional error line. */
  private form(res: ServerResponse, status: number, error: string): void {
    const nonce = String(++this.issued);
    const token = `${nonce}.${this.mac(nonce)}`;
    page(
      res,
      status,
      'Log in',
      (error === '' ? '' : `<p class="error">${escapeHtml(error)}</p>\n`) +
        '<form method="post" action="/login">\n' +
        `<input type="hidden" name="${LOGIN_FIELDS.token}" value="${token}">\n` +
        `<label>Username <input type="text" name="${LOGIN_FIELDS.username}" autocomplete="username"></label>\n` +
        `<label>Password <input type="password" name="${LOGIN_FIELDS.password}" autocomplete="current-password"></label>\n` +
        '<button type="submit">Log in</button>\n</form>\n',
    );
  }

  private mac(nonce: string): string {
    return createHmac('sha256', this.secret).update(nonce).digest('base64url').slice(0, 22);
  }

  private tokenOk(token: string | null): boolean {
    if (token === null) return false;
    const dot = token.indexOf('.');
    return dot > 0 && token.slice(dot + 1) === this.mac(token.slice(0, dot));
  }

  /**
   * A login attempt: reads the urlencoded body (at most MAX_FORM_BYTES, else 413), checks the
   * token (400 with the form) and the credentials (401 with the form), then either counts a
   * re-login on the valid, unblocked session the request carried or creates a new session, sets
   * its cookie and redirects to /members/.
   */
  private login(req: IncomingMessage, res: ServerResponse, current: SessionStats | undefined): void {
    const chunks: Buffer[] = [];
    let size = 0;
    let refused = false;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_FORM_BYTES && !refused) {
        refused = true;
        this.failures++;
        res.writeHead(413, { connection: 'close', 'content-length': 0 });
        res.end();
      } else if (!refused) chunks.push(c);
    });
    req.on('end', () => {
      if (refused || res.headersSent) return;
      const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
      if (!this.tokenOk(form.get(LOGIN_FIELDS.token))) {
        this.failures++;
        this.form(res, 400, 'The form expired; please try again.');
        return;
      }
      if (
        form.get(LOGIN_FIELDS.username) !== this.username ||
        form.get(LOGIN_FIELDS.password) !== this.password
      ) {
        this.failures++;
        this.form(res, 401, 'Wrong username or password.');
        return;
      }
      this.successes++;
      let s = current;
      if (s !== undefined && s.requests <= this.blockAfter) s.logins++;
      else {
        s = { id: randomBytes(16).toString('hex'), logins: 1, requests: 0, blocked: 0 };
        this.sessions.set(s.id, s);
      }
      res.writeHead(302, {
        location: '/members/',
        'set-cookie': `${SESSION_COOKIE}=${s.id}; Path=/; HttpOnly; SameSite=Lax`,
        'content-length': 0,
      });
      res.end();
    });
  }
}

/** The value of cookie `name` in a `Cookie` header value, or undefined. */
function cookieValue(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

function page(res: ServerResponse, status: number, title: string, body: string): void {
  const buf = Buffer.from(
    `<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head>` +
      `<body><h1>${escapeHtml(title)}</h1>\n${body}</body></html>\n`,
    'utf8',
  );
  res.writeHead(status, { 'content-type': HTML, 'content-length': buf.length });
  res.end(buf);
}
