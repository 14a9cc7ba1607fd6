import { createInterface } from 'node:readline';
import type { REPLServer } from 'node:repl';
import { PassThrough } from 'node:stream';

/**
 * A REPL's input fed one line at a time from a non-interactive `source` (a pipe or a file).
 *
 * Node's REPL reads every line of its input as soon as it arrives: with piped input, a line that
 * awaits (`await fetch(url)`) is still running when the next lines are evaluated, so they see the
 * old bindings, and a multi-line statement is cut up. Pacing makes a piped script behave as if a
 * person typed it: the next line is written to `input` only when the REPL shows its prompt again,
 * which it does once the previous line is fully evaluated (awaited promise included) or buffered
 * as an incomplete statement. When `source` ends and every line was fed, `input` ends, and the
 * REPL exits as on Ctrl-D.
 */
export class PacedReplInput {
  /** The stream to give the REPL as its `input`. */
  readonly input = new PassThrough();
  readonly #lines: string[] = [];
  #ended = false;
  #wanted = false;

  constructor(source: NodeJS.ReadableStream) {
    const rl = createInterface({ input: source, crlfDelay: Number.POSITIVE_INFINITY });
    rl.on('line', (line) => {
      this.#lines.push(line);
      this.#pump();
    });
    rl.on('close', () => {
      this.#ended = true;
      this.#pump();
    });
  }

  /**
   * Makes `server` (started with {@link input}) ask for each next line by showing its prompt,
   * and feeds the first line (the REPL showed its first prompt before this was attached). The
   * prompts become empty, the continuation prompt (`... `) of a multi-line statement included:
   * nobody reads them, and the output holds only what the lines print.
   */
  attach(server: REPLServer): void {
    server.displayPrompt = (preserveCursor?: boolean) => {
      server.setPrompt('');
      server.prompt(preserveCursor);
      this.#next();
    };
    this.#next();
  }

  /** The REPL is ready for a line: feed the next one now, or when it arrives. */
  #next(): void {
    this.#wanted = true;
    this.#pump();
  }

  #pump(): void {
    if (!this.#wanted) return;
    const line = this.#lines.shift();
    if (line !== undefined) {
      this.#wanted = false;
      this.input.write(`${line}\n`);
    } else if (this.#ended) {
      this.#wanted = false;
      this.input.end();
    }
  }
}
