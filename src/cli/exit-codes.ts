/**
 * The exit statuses of `trawl`, one per way a run can end, so that scripts and service managers
 * can tell them apart. They are listed in `trawl --help` (see EXIT_CODES_HELP) and the README.
 */
export const EXIT = {
  /** The command did what it was asked (a crawl also exits 0 after a graceful stop). */
  ok: 0,
  /** An unexpected internal error (printed with its stack: a bug to report). */
  failure: 1,
  /** Bad usage: a flag, value, URL, state or output file refused before any request. */
  usage: 2,
  /**
   * The disk (or quota) holding the output or the state is full: the crawl stopped as a graceful
   * stop does, or refused to start. sysexits.h's EX_IOERR ("an error occurred while doing I/O on
   * some file"), the conventional status for this.
   */
  storageFull: 74,
  /** Aborted by a second SIGINT/SIGTERM/SIGHUP (128 + SIGINT, as shells report Ctrl-C). */
  aborted: 130,
} as const;

/** The exit-status list shown at the end of `trawl --help`. */
export const EXIT_CODES_HELP = `
Exit status:
  ${EXIT.ok}    done (also after a graceful stop by SIGINT, SIGTERM or SIGHUP)
  ${EXIT.failure}    unexpected internal error
  ${EXIT.usage}    bad usage: refused before any request, one line naming the problem
  ${EXIT.storageFull}   storage full: no space left for the output or state file (the crawl stopped, or refused to start)
  ${EXIT.aborted}  aborted by a second signal (stored records are kept; a state file resumes)`;
