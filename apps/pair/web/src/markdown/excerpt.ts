import { Marked, type Token } from "marked";

/**
 * GitHub's flavour, as the descriptions are written; one instance, not marked's global.
 * Raw HTML in a description is shown as the text it is, never parsed: a description needs
 * none, and parsing it would run the page's HTML parser on markup a user wrote.
 */
export const markdown = new Marked({
  gfm: true,
  renderer: { html: ({ text }) => escapeHtml(text) },
});

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The words a reader sees in some Markdown, without its markup; raw HTML is dropped. */
export function plainText(source: string): string {
  return collect(markdown.lexer(source)).replace(/\s+/g, " ").trim();
}

function collect(tokens: readonly Token[]): string {
  let text = "";
  for (const token of tokens) {
    if (token.type === "html") continue;
    const children = "tokens" in token && Array.isArray(token.tokens) ? token.tokens : undefined;
    const items = token.type === "list" && Array.isArray(token.items) ? token.items : undefined;
    if (items) text += ` ${collect(items as Token[])} `;
    else if (children) text += collect(children as Token[]);
    else if (token.type === "codespan" || token.type === "text" || token.type === "escape") {
      text += decodeEntities(String(token.text ?? ""));
    } else if (token.type === "code") text += ` ${String(token.text ?? "")} `;
    else if (token.type === "br" || token.type === "space") text += " ";
    // Blocks end in a space so that two paragraphs do not run their words together.
    if (isBlock(token.type)) text += " ";
  }
  return text;
}

const BLOCKS = new Set(["paragraph", "heading", "code", "blockquote", "list_item", "table"]);
const isBlock = (type: string) => BLOCKS.has(type);

// The lexer keeps `&amp;` as written; React escapes the excerpt again, so decode the few
// entities Markdown writers use.
const ENTITIES: Readonly<Record<string, string>> = {
  "&amp;": "&",
  "&lt;": "<",
  "&gt;": ">",
  "&quot;": '"',
  "&#39;": "'",
};
function decodeEntities(text: string): string {
  return text.replace(/&(?:amp|lt|gt|quot|#39);/g, (entity) => ENTITIES[entity] ?? entity);
}

/**
 * A card's teaser: the plain text of a description, cut at a word boundary to at most
 * `max` characters with an ellipsis when something was left out.
 */
export function excerpt(source: string, max = 160): string {
  return shorten(plainText(source), max);
}

/** `text` if it fits in `max` characters, else its longest word-bounded prefix and "…". */
export function shorten(text: string, max: number): string {
  if (text.length <= max) return text;
  const cut = text.slice(0, Math.max(0, max - 1));
  // The cut ends a word when a space follows it; else back up to the last space, unless
  // that drops too much (one long word is cut where it must be).
  const space = text[cut.length] === " " ? cut.length : cut.lastIndexOf(" ");
  const head = space > max / 2 ? cut.slice(0, space) : cut;
  return `${head.trimEnd()}…`;
}
