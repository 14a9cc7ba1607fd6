/**
 * A scraper's `login` hook, run once per session on the crawl's main thread before the session's
 * first request (engine/fetch-step.ts asks {@link Logins.ensure}).
 */
import type { CheerioAPI } from 'cheerio';
import { LimiterDeadlineError } from '../../conc/rate.js';
import { fetchPage } from '../fetch/fetch-page.js';
import { handlerLog } from '../parse/handler-log.js';
import type { LoginHook, LoginRequestInit, LoginResponse } from '../parse/scraper.js';
import type { EngineContext } from './context.js';
import type { Identities, Route } from './identities.js';

/** A login hook failed (or its session could not log in): the page's attempt fails with it. */
export class LoginError extends Error {
  override name = 'LoginError';
}

/**
 * Runs `hook` for sessions that are not logged in yet, one run per session at a time: requests
 * that need the same session while its login runs wait for that run. A successful login marks
 * the session `loggedIn` and saves the sessions to the state before any request uses it (so a
 * crash right after does not cost a second login); while the hook runs, saves keep the session's
 * pre-login jar (Identities.loginStarted), so a crash mid-login costs a fresh login rather than a
 * second one on the cookie the unfinished login got. A failed login retires the session (its
 * replacement logs in afresh) and rejects with a LoginError naming the hook's message.
 */
export class Logins {
  readonly #hook: LoginHook;
  readonly #d: EngineContext;
  readonly #ids: Identities;
  readonly #running = new Map<string, Promise<void>>();

  constructor(hook: LoginHook, d: EngineContext, ids: Identities) {
    this.#hook = hook;
    this.#d = d;
    this.#ids = ids;
  }

  /** Resolves once `route.session` is logged in (at once if it is); see the class comment. */
  ensure(route: Route, signal: AbortSignal): Promise<void> {
    const s = route.session;
    if (s.loggedIn) return Promise.resolve();
    let run = this.#running.get(s.id);
    if (run === undefined) {
      run = this.#login(route, signal).finally(() => this.#running.delete(s.id));
      this.#running.set(s.id, run);
    }
    return run;
  }

  async #login(route: Route, signal: AbortSignal): Promise<void> {
    const s = route.session;
    const log = handlerLog('login', s.id);
    // Until the hook returns, saves (each stored batch's) keep the session's pre-login jar: a
    // crash mid-login then costs a fresh login, never a second one on the cookie it got.
    this.#ids.loginStarted(s);
    try {
      await this.#hook({
        session: Object.freeze({ id: s.id }),
        start: this.#d.options.seeds,
        fetch: (url, init) => this.#fetch(route, url, init ?? {}, signal),
        log,
      });
    } catch (err) {
      this.#ids.sessions.retire(s, 'login failed');
      const msg = err instanceof Error ? err.message || err.name : String(err);
      throw new LoginError(msg.split('\n')[0]!);
    } finally {
      this.#ids.loginEnded(s);
    }
    s.loggedIn = true;
    await this.#ids.save();
  }

  /** One request of the hook, through the session, under the crawl's connection cap and rate. */
  async #fetch(
    route: Route,
    url: string,
    init: LoginRequestInit,
    signal: AbortSignal,
  ): Promise<LoginResponse> {
    const d = this.#d;
    const o = d.options;
    if (init.form !== undefined && init.body !== undefined)
      throw new LoginError('fetch: give form or body, not both');
    const headers: Record<string, string> = { ...o.headers, ...init.headers };
    let body = init.body;
    let method = init.method?.toUpperCase();
    if (init.form !== undefined) {
      body = new URLSearchParams(init.form).toString();
      headers['content-type'] = 'application/x-www-form-urlencoded';
      method ??= 'POST';
    }
    await d.connections.acquire(1, signal);
    try {
      try {
        await d.limiter.wait(d.stop);
      } catch (err) {
        throw err instanceof LimiterDeadlineError ? new LoginError('the crawl reached --max-time') : err;
      }
      const res = await fetchPage(url, {
        dispatcher: route.dispatcher,
        timeoutMs: o.timeoutMs,
        maxBytes: o.maxBytes,
        userAgent: o.userAgent,
        headers,
        ...(method === undefined ? {} : { method }),
        ...(body === undefined ? {} : { body }),
        ...(route.session.cookies === null ? {} : { cookies: route.session.cookies }),
        readErrorBodies: true,
        signal,
        checkRedirect: (next) => d.redirectRefusal(next),
      });
      const text = res.text ?? '';
      let $: CheerioAPI | null = null;
      const { load } = await import('cheerio/slim');
      return Object.freeze({
        url: res.finalUrl,
        status: res.status,
        headers: res.headers,
        text,
        get $() {
          $ ??= load(text, { baseURI: res.finalUrl });
          return $;
        },
      });
    } finally {
      d.connections.release(1);
    }
  }
}
