/**
 * User-defined extraction (`--extract name=selector[@attr]`): CSS selectors over a DOM that is
 * built only for pages of crawls that asked for fields.
 */
import { compile, selectAll } from 'css-select';
import type { AnyNode, Element } from 'domhandler';
import { hasChildren, isTag, isText } from 'domhandler';
import { parseDocument } from 'htmlparser2';
import { stripAscii } from './ascii-whitespace.js';

/** One parsed `name=selector[@attr]` spec. */
export interface FieldSpec {
  /** Output key. */
  name: string;
  /** CSS selector (css-select dialect: CSS3 plus `:contains`, `:has`, …). */
  selector: string;
  /** Attribute to read instead of the text content. */
  attr?: string;
}

type Query = ReturnType<typeof compile<AnyNode, Element>>;

// Specs are parsed once per crawl and applied to every page: keep their compiled queries.
const compiled = new WeakMap<FieldSpec, Query>();

const NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;
const ATTR_SUFFIX = /@([A-Za-z_:][A-Za-z0-9_:.-]*)$/;

function compileSelector(selector: string, spec: string): Query {
  try {
    return compile<AnyNode, Element>(selector);
  } catch (err) {
    throw new Error(`invalid field spec ${JSON.stringify(spec)}: bad selector: ${(err as Error).message}`);
  }
}

/**
 * Parses `name=selector` or `name=selector@attr` into a {@link FieldSpec}, validating it.
 *
 * The name is everything before the first `=`, trimmed; it must be non-empty and made of ASCII
 * letters, digits, `_`, `.` and `-` (not starting with `.` or `-`). The selector is the rest,
 * trimmed; a trailing `@name` (an attribute name that is not inside `[...]`, since it comes
 * after the last `]`) selects that attribute instead of the text. The selector is compiled with
 * css-select to validate it. Throws an Error whose message quotes the spec and says what is
 * wrong: missing `=`, bad name, empty selector, or a selector css-select cannot compile.
 */
export function parseFieldSpec(spec: string): FieldSpec {
  const eq = spec.indexOf('=');
  if (eq < 0) throw new Error(`invalid field spec ${JSON.stringify(spec)}: expected name=selector[@attr]`);
  const name = spec.slice(0, eq).trim();
  if (name.length === 0) throw new Error(`invalid field spec ${JSON.stringify(spec)}: empty name`);
  if (!NAME.test(name)) {
    throw new Error(`invalid field spec ${JSON.stringify(spec)}: name must use letters, digits, _ . -`);
  }
  let selector = spec.slice(eq + 1).trim();
  let attr: string | undefined;
  const m = ATTR_SUFFIX.exec(selector);
  if (m) {
    attr = m[1]!.toLowerCase();
    selector = selector.slice(0, m.index).trim();
  }
  if (selector.length === 0) throw new Error(`invalid field spec ${JSON.stringify(spec)}: empty selector`);
  const result: FieldSpec = attr === undefined ? { name, selector } : { name, selector, attr };
  compiled.set(result, compileSelector(selector, spec));
  return result;
}

/**
 * Parses several specs with {@link parseFieldSpec}; also throws when two specs share a name.
 */
export function parseFieldSpecs(specs: readonly string[]): FieldSpec[] {
  const out = specs.map(parseFieldSpec);
  const seen = new Set<string>();
  for (const s of out) {
    if (seen.has(s.name))
      throw new Error(`invalid field specs: name ${JSON.stringify(s.name)} is used twice`);
    seen.add(s.name);
  }
  return out;
}

/** Concatenated text of all text descendants, like DOM `textContent`. */
function textContent(node: AnyNode): string {
  if (isText(node)) return node.data;
  if (!hasChildren(node)) return '';
  let s = '';
  // Iterative walk: user pages may nest deeply enough to overflow recursion.
  const stack: AnyNode[] = [node];
  while (stack.length > 0) {
    const n = stack.pop()!;
    if (isText(n)) s += n.data;
    else if (hasChildren(n)) for (let i = n.children.length - 1; i >= 0; i--) stack.push(n.children[i]!);
  }
  return s;
}

/**
 * Empties every inert `<template>` (one that is not a declarative shadow root), as extract.ts
 * ignores them: template content is not part of the document, and browsers' querySelectorAll
 * does not see it.
 */
function dropTemplateContent(root: AnyNode): void {
  const stack: AnyNode[] = [root];
  while (stack.length > 0) {
    const n = stack.pop()!;
    if (!hasChildren(n)) continue;
    if (isTag(n) && n.name === 'template') {
      const mode = n.attribs.shadowrootmode?.toLowerCase();
      if (mode !== 'open' && mode !== 'closed') {
        for (const c of n.children) c.parent = null;
        n.children = [];
        continue;
      }
    }
    for (const c of n.children) stack.push(c);
  }
}

/**
 * Applies `specs` to `html` and returns one entry per spec name: for each element the selector
 * matches (document order), the value is its `attr` attribute when the spec has one (elements
 * without that attribute are skipped) or else its text content, with leading and trailing ASCII
 * whitespace stripped (U+00A0, U+3000 and other non-ASCII spaces are kept, as in extract.ts).
 * Content of inert `<template>` elements is not searched (see extract.ts). One value gives a
 * string, several give an array, none gives null. With no specs, returns `{}` without parsing.
 * Specs that did not come from parseFieldSpec are compiled on first use (and may throw there).
 * A later spec with the same name overwrites an earlier one.
 */
export function extractFields(
  html: string,
  specs: readonly FieldSpec[],
): Record<string, string | string[] | null> {
  const result: Record<string, string | string[] | null> = {};
  if (specs.length === 0) return result;
  const doc = parseDocument(html);
  dropTemplateContent(doc);
  for (const spec of specs) {
    let query = compiled.get(spec);
    if (!query) {
      query = compileSelector(spec.selector, `${spec.name}=${spec.selector}`);
      compiled.set(spec, query);
    }
    const values: string[] = [];
    for (const el of selectAll<AnyNode, Element>(query, doc)) {
      if (spec.attr !== undefined) {
        if (!isTag(el)) continue;
        const v = el.attribs[spec.attr];
        if (v !== undefined) values.push(stripAscii(v));
      } else {
        values.push(stripAscii(textContent(el)));
      }
    }
    result[spec.name] = values.length === 0 ? null : values.length === 1 ? values[0]! : values;
  }
  return result;
}
