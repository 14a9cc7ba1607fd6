import type { FetchResult } from '../fetch/fetch-page.js';
import type { Session } from '../fetch/session-pool.js';
import type { FrontierItem } from '../frontier/frontier.js';
import type { ParseOutput } from '../parse/parse-job.js';
import type { HostTable } from '../politeness/host-table.js';

/** A host's politeness slot, whatever host-table.ts names its type. */
export type HostSlot = ReturnType<HostTable['get']>;

/** A fetch worker's job: one leased URL and its host's politeness slot. */
export interface FetchJob {
  item: FrontierItem;
  host: HostSlot;
}

/**
 * What became of one leased URL on its way to the store. `attempts` counts requests made for it
 * (earlier runs included).
 * - fetched: a response to store (its status may still be an `http:` error);
 * - failed: give up with `error` (no response, or robots.txt unreachable after the retries);
 * - skipped: not requested by the crawl's rules (robots.txt refusal, --max-pages-per-host);
 * - retry: try again at `at` (the item carries the attempts made so far);
 * - unstarted: stopped before a request was made: back to the frontier as it was.
 */
export type Outcome =
  | {
      kind: 'fetched';
      item: FrontierItem;
      host: HostSlot;
      res: FetchResult;
      attempts: number;
      /** The session the page was fetched with (engine/identities.ts). */
      session?: Session;
    }
  | {
      kind: 'failed';
      item: FrontierItem;
      host: HostSlot;
      error: string;
      attempts: number;
      status: number | null;
      durationMs: number;
    }
  | { kind: 'skipped'; item: FrontierItem; host: HostSlot; reason: string }
  | { kind: 'retry'; item: FrontierItem; host: HostSlot; at: number }
  | { kind: 'unstarted'; item: FrontierItem; host: HostSlot };

/** What the parse stage hands to the store. */
export interface Parsed {
  outcome: Outcome;
  page: ParseOutput | null;
  parseError: string | null;
}
