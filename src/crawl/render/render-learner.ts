/**
 * The learning half of `--render auto`: per kind of page (the caller's key, e.g. host + label),
 * stop rendering once plain HTTP has been shown to give the same result a few times in a row,
 * and verify that now and then. Pure and deterministic: no clock, no randomness, no I/O.
 */
import type { ShellVerdict } from './shell-detect.js';

/**
 * Why {@link RenderLearner.decide} chose what it chose:
 * - `shell`: the plain HTML looks like an app shell (ShellVerdict.shell) and the key has not
 *   learned that plain HTTP is enough — render;
 * - `empty-handler`: not a shell, but the handler found nothing on the plain page, and the key
 *   has not learned plain — render;
 * - `recheck`: the key has learned plain, and this is its periodic verification — render;
 * - `learned-plain`: the page would be rendered, but the key has learned plain — do not;
 * - `plain`: neither a shell nor an empty handler result — do not render.
 */
export type RenderReason = 'shell' | 'empty-handler' | 'recheck' | 'learned-plain' | 'plain';

/** The reasons whose decision is to render. */
export type RenderedReason = 'shell' | 'empty-handler' | 'recheck';

/** What {@link RenderLearner.decide} returns. */
export interface RenderDecision {
  render: boolean;
  reason: RenderReason;
}

/** Counters of {@link RenderLearner.stats}, for the crawl summary. */
export interface RenderLearnerStats {
  /** Decisions to render, by reason. */
  rendered: Record<RenderedReason, number>;
  /** Decisions not to render (`plain` and `learned-plain`). */
  plain: number;
  /** Of `plain`, those saved by learning (`learned-plain`): pages that looked in need of a browser. */
  learnedPlain: number;
  /** Keys held now (at most `maxKeys`). */
  keys: number;
  /** Of `keys`, those in the learned-plain state now. */
  learnedKeys: number;
}

/** Options of {@link RenderLearner}; every field has a default. */
export interface RenderLearnerOptions {
  /** Consecutive agreements after which a key stops rendering. Integer ≥ 1; default 3. */
  agreeAfter?: number;
  /** A learned key renders one page in this many (the rest plain). Integer ≥ 1 or Infinity (never); default 50. */
  recheckEvery?: number;
  /** Most keys remembered; the least recently used is forgotten beyond it. Integer ≥ 1; default 10,000. */
  maxKeys?: number;
}

/** Default {@link RenderLearnerOptions.agreeAfter}. */
export const DEFAULT_AGREE_AFTER = 3;
/** Default {@link RenderLearnerOptions.recheckEvery}. */
export const DEFAULT_RECHECK_EVERY = 50;
/** Default {@link RenderLearnerOptions.maxKeys}. */
export const DEFAULT_MAX_KEYS = 10_000;

/** One key's state. */
interface KeyState {
  /** Agreements in a row since the last disagreement (or since the key was first seen). */
  streak: number;
  /** Plain HTTP is enough for this key (streak reached agreeAfter, no disagreement since). */
  learned: boolean;
  /** Decisions since the key learned plain or since its last recheck. */
  sinceCheck: number;
}

/**
 * Per-key memory of whether rendered and plain results agree, deciding for each plain-fetched
 * page whether to render it too. A key starts in the *learning* state: every page that needs
 * rendering (a shell, or an empty handler result) is rendered, and the caller reports with
 * {@link observe} whether the two results agreed. After `agreeAfter` consecutive agreements the
 * key is *learned-plain*: its pages are not rendered, except every `recheckEvery`-th such page
 * (counted per key from the moment it learned, or from its last recheck), which is rendered to
 * verify. Any disagreement — during learning or on a recheck — puts the key back to learning
 * with its streak at zero. Pages that do not need rendering (`plain`) never touch a key's state.
 *
 * Memory is bounded: at most `maxKeys` keys, the least recently used (by decide or observe)
 * forgotten beyond that; a forgotten key starts learning again (it renders: the safe side).
 * Observations can arrive late and out of order with decisions (pages render concurrently):
 * each one simply applies to the key's current state, so a late disagreement still un-learns.
 */
export class RenderLearner {
  readonly #agreeAfter: number;
  readonly #recheckEvery: number;
  readonly #maxKeys: number;
  // Insertion order is recency order: a touched key is deleted and set again.
  readonly #keys = new Map<string, KeyState>();
  readonly #rendered: Record<RenderedReason, number> = { shell: 0, 'empty-handler': 0, recheck: 0 };
  #plain = 0;
  #learnedPlain = 0;

  /** Throws a RangeError naming the option when one is out of range (see {@link RenderLearnerOptions}). */
  constructor(opts: RenderLearnerOptions = {}) {
    const agreeAfter = opts.agreeAfter ?? DEFAULT_AGREE_AFTER;
    const recheckEvery = opts.recheckEvery ?? DEFAULT_RECHECK_EVERY;
    const maxKeys = opts.maxKeys ?? DEFAULT_MAX_KEYS;
    if (!Number.isInteger(agreeAfter) || agreeAfter < 1)
      throw new RangeError(`agreeAfter must be an integer ≥ 1, got ${agreeAfter}`);
    if (!(recheckEvery === Number.POSITIVE_INFINITY || (Number.isInteger(recheckEvery) && recheckEvery >= 1)))
      throw new RangeError(`recheckEvery must be an integer ≥ 1 or Infinity, got ${recheckEvery}`);
    if (!Number.isInteger(maxKeys) || maxKeys < 1)
      throw new RangeError(`maxKeys must be an integer ≥ 1, got ${maxKeys}`);
    this.#agreeAfter = agreeAfter;
    this.#recheckEvery = recheckEvery;
    this.#maxKeys = maxKeys;
  }

  /**
   * Decides whether the page just fetched plain under `key` is to be rendered too. The page
   * needs rendering when `verdict.shell` (reason `shell`) or, failing that, when
   * `handlerFoundNothing` (`empty-handler`); a page that needs neither is `plain` and leaves the
   * key untouched. For one that needs it: a learning key renders it (`shell` / `empty-handler`);
   * a learned key does not (`learned-plain`) except on every `recheckEvery`-th such decision
   * (`recheck`, and the count starts again). Each call counts once in {@link stats}; the caller
   * should call {@link observe} for every page it then rendered.
   */
  decide(key: string, verdict: ShellVerdict, handlerFoundNothing = false): RenderDecision {
    if (!verdict.shell && !handlerFoundNothing) {
      this.#plain++;
      return { render: false, reason: 'plain' };
    }
    const s = this.#touch(key);
    if (s.learned) {
      s.sinceCheck++;
      if (s.sinceCheck >= this.#recheckEvery) {
        s.sinceCheck = 0;
        this.#rendered.recheck++;
        return { render: true, reason: 'recheck' };
      }
      this.#plain++;
      this.#learnedPlain++;
      return { render: false, reason: 'learned-plain' };
    }
    const reason: RenderedReason = verdict.shell ? 'shell' : 'empty-handler';
    this.#rendered[reason]++;
    return { render: true, reason };
  }

  /**
   * Records whether a page of `key` that was fetched plain and rendered gave agreeing results
   * (the caller compares, e.g. with {@link resultsAgree}). An agreement extends the key's streak
   * and, at `agreeAfter`, makes it learned-plain (its recheck count starting at zero); further
   * agreements keep it so. A disagreement sets the streak to zero and the key back to learning.
   * An unknown (or forgotten) key is created as if it had been learning.
   */
  observe(key: string, agreed: boolean): void {
    const s = this.#touch(key);
    if (!agreed) {
      s.streak = 0;
      s.learned = false;
      s.sinceCheck = 0;
      return;
    }
    s.streak++;
    if (!s.learned && s.streak >= this.#agreeAfter) {
      s.learned = true;
      s.sinceCheck = 0;
    }
  }

  /**
   * Whether `key` is learned-plain now (its shell-looking pages go unrendered but for
   * rechecks). Does not count as a use for the LRU order.
   */
  learned(key: string): boolean {
    return this.#keys.get(key)?.learned ?? false;
  }

  /** The decisions so far and the keys held now (a fresh object each call). */
  stats(): RenderLearnerStats {
    let learnedKeys = 0;
    for (const s of this.#keys.values()) if (s.learned) learnedKeys++;
    return {
      rendered: { ...this.#rendered },
      plain: this.#plain,
      learnedPlain: this.#learnedPlain,
      keys: this.#keys.size,
      learnedKeys,
    };
  }

  /** The state of `key`, created if absent, moved to most recently used; evicts beyond maxKeys. */
  #touch(key: string): KeyState {
    let s = this.#keys.get(key);
    if (s !== undefined) {
      this.#keys.delete(key);
    } else {
      s = { streak: 0, learned: false, sinceCheck: 0 };
      if (this.#keys.size >= this.#maxKeys) {
        const oldest = this.#keys.keys().next();
        if (!oldest.done) this.#keys.delete(oldest.value);
      }
    }
    this.#keys.set(key, s);
    return s;
  }
}

/** The part of a page's result that {@link resultsAgree} compares. */
export interface PageOutcome {
  /** The page's title as extracted (null when it has none). */
  title: string | null;
  /** The page's outgoing links, normalized the same way for both results. */
  links: readonly string[];
}

/** Fraction of the rendered page's distinct links that may be missing from the plain one. */
export const AGREE_MISSING_FRACTION = 0.05;

/**
 * Whether the plain result of a page is as good as its rendered one, for a crawler: the titles
 * are equal once ASCII whitespace is trimmed and collapsed (null and "" are equal: both no
 * title), and the plain links miss at most `floor(AGREE_MISSING_FRACTION × n)` of the `n`
 * distinct rendered links — none for pages with fewer than 20 links; a rendered page usually
 * adds a few script-inserted links (a consent banner's policy link, share buttons) to a long
 * list, which costs the crawl nothing. Links the plain page has and the rendered one lacks do
 * not matter (the plain crawl finds more, not less). Exact string comparison of links: the
 * caller normalizes both sides alike. A caller with a handler may additionally require the
 * handler's results to match.
 */
export function resultsAgree(plain: PageOutcome, rendered: PageOutcome): boolean {
  if (normTitle(plain.title) !== normTitle(rendered.title)) return false;
  const have = new Set(plain.links);
  const want = new Set(rendered.links);
  const allowed = Math.floor(AGREE_MISSING_FRACTION * want.size);
  let missing = 0;
  for (const l of want) if (!have.has(l) && ++missing > allowed) return false;
  return true;
}

function normTitle(t: string | null): string {
  // ASCII whitespace only, as extract.ts collapses titles (U+00A0 and friends are content).
  return t === null ? '' : t.replace(/[\t\n\f\r ]+/g, ' ').replace(/^ | $/g, '');
}
