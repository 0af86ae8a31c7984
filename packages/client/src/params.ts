/**
 * Serializes params into a query string. Nested objects become `parent[child]` keys; the
 * whole key and the value are percent-encoded, so brackets go out as `%5B`/`%5D`.
 * Null values are left out.
 */
export function serializeParams(params: object, parentKey?: string): string {
  const parts: string[] = [];
  for (const [key, value] of Object.entries(params)) {
    const paramKey = parentKey ? `${parentKey}[${key}]` : key;
    if (value === null) continue;
    if (typeof value === "object") {
      const nested = serializeParams(value, paramKey);
      if (nested) parts.push(nested);
    } else {
      parts.push(`${encodeURIComponent(paramKey)}=${encodeURIComponent(String(value))}`);
    }
  }
  return parts.join("&");
}

/** Appends params to a URL's query string, if there are any. */
export function appendParams(url: string, params: object): string {
  if (Object.keys(params).length === 0) return url;
  const prefix = url.includes("?") ? "&" : "?";
  return `${url}${prefix}${serializeParams(params)}`;
}
