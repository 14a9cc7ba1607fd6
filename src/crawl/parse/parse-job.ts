import { extractPage, type ParsedPage } from './extract.js';
import { extractFields, parseFieldSpec } from './fields.js';

/** What a parse worker is given: one HTML page and how to read it. */
export interface ParseJob {
  html: string;
  /** The URL the HTML came from (after redirects): links resolve against it. */
  url: string;
  stripParams: string[];
  /** `name=css-selector[@attr]` specs; empty for none. */
  fields: string[];
}

/** What a parse worker returns. */
export interface ParseOutput extends ParsedPage {
  fields: Record<string, unknown> | null;
  /** Time spent parsing, ms. */
  parseMs: number;
}

/**
 * Parses one page: title, description, canonical, base, robots meta and links (resolved,
 * normalized, deduplicated), plus the user's CSS fields when any are given. Pure and
 * synchronous, so it runs the same on the main thread and in a worker thread.
 */
export function runParseJob(job: ParseJob): ParseOutput {
  const start = performance.now();
  const page = extractPage(job.html, job.url, { normalize: { stripParams: job.stripParams } });
  const fields = job.fields.length > 0 ? extractFields(job.html, job.fields.map(parseFieldSpec)) : null;
  return { ...page, fields, parseMs: performance.now() - start };
}
