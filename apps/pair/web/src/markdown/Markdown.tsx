import DOMPurify from "dompurify";
import { type ReactNode, useMemo } from "react";
import { markdown } from "./excerpt";

/**
 * Markdown rendered to HTML by marked (raw HTML escaped), then sanitized by DOMPurify
 * before React puts it in the page: a description's author is a user, and a link can
 * still carry a `javascript:` URL.
 * Rendered in the browser because DOMPurify needs a real DOM to sanitize against.
 */
export function renderMarkdown(source: string): string {
  const html = markdown.parse(source, { async: false });
  return DOMPurify.sanitize(html, { USE_PROFILES: { html: true } });
}

/** A block of rendered, sanitized Markdown. */
export function Markdown({ source, className }: { source: string; className?: string }): ReactNode {
  const html = useMemo(() => renderMarkdown(source), [source]);
  // biome-ignore lint/security/noDangerouslySetInnerHtml: sanitized by DOMPurify just above.
  return <div className={className} dangerouslySetInnerHTML={{ __html: html }} />;
}
