/**
 * The `--render auto` policy, pure (no Chromium, no I/O): {@link shellSignals} decides from a
 * plain page's HTML whether it looks like an app shell, and a {@link RenderLearner} per crawl
 * turns that (and an empty handler result) into a render decision per page, learning per key
 * (host + label) when plain HTTP is enough. {@link resultsAgree} is the comparison the caller
 * feeds back with `observe`. The engine's use, per plain-fetched page:
 *
 * ```ts
 * const d = learner.decide(key, shellSignals(html), handlerFoundNothing);
 * if (d.render) {
 *   const rendered = await render(url);
 *   learner.observe(key, resultsAgree(plainOutcome, renderedOutcome));
 * }
 * ```
 */
export {
  AGREE_MISSING_FRACTION,
  DEFAULT_AGREE_AFTER,
  DEFAULT_MAX_KEYS,
  DEFAULT_RECHECK_EVERY,
  type PageOutcome,
  type RenderDecision,
  type RenderedReason,
  RenderLearner,
  type RenderLearnerOptions,
  type RenderLearnerStats,
  type RenderReason,
  resultsAgree,
} from './render-learner.js';
export {
  DEFAULT_MAX_TEXT,
  DEFAULT_MIN_TEXT,
  DEFAULT_ROOT_TEXT,
  DEFAULT_SCRIPT_RATIO,
  MOUNT_IDS,
  type ShellOptions,
  type ShellReason,
  type ShellVerdict,
  shellSignals,
} from './shell-detect.js';
