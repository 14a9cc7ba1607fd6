import type { Command, Option } from 'commander';

/**
 * The argument parser of a repeatable option (`--include a --include b` → `['a', 'b']`).
 * Declaring an option with it is what makes it repeatable: {@link refuseRepeatedOptions} leaves
 * such options alone.
 */
export function repeatable(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/**
 * Makes `cmd` and its subcommands refuse an option given twice, instead of commander's default
 * of silently keeping the last value: `--rate 5 --rate 10` is ambiguous usage, refused with one
 * line naming the flag (and so exit 2, before any request). Also refused: an option and its
 * negation together (`--state x.db --no-state`). Left alone: repeatable options (parsed with
 * {@link repeatable}), variadic ones, and a value-less flag repeated as it is (`--quiet --quiet`
 * says nothing new). Call it once, after every option is added; the bookkeeping lives for one
 * parse of the program (build a new program per parse, as `main` does).
 */
export function refuseRepeatedOptions(cmd: Command): void {
  for (const sub of cmd.commands) refuseRepeatedOptions(sub);
  /** Per attribute (`state` for both --state and --no-state): the flag given, and its value. */
  const given = new Map<string, { flag: string; value: unknown }>();
  for (const opt of cmd.options) {
    if (opt.parseArg === repeatable || opt.variadic) continue;
    const flag = opt.long ?? opt.short ?? opt.flags;
    cmd.on(`option:${opt.name()}`, (value: unknown) => {
      const key = opt.attributeName();
      const before = given.get(key);
      given.set(key, { flag, value });
      if (before === undefined || (before.flag === flag && isValueless(opt))) return;
      cmd.error(
        before.flag === flag
          ? `error: option '${flag}' given twice (${shown(before.value)}, then ${shown(value)}): give it once`
          : `error: options '${before.flag}' and '${flag}' conflict: give one of them`,
        { code: 'trawl.repeatedOption', exitCode: 2 },
      );
    });
  }
}

/** True for a flag that takes no value (`--quiet`, `--no-state`): repeating it changes nothing. */
function isValueless(opt: Option): boolean {
  return !opt.required && !opt.optional;
}

function shown(value: unknown): string {
  return value === undefined ? '(no value)' : JSON.stringify(value);
}
