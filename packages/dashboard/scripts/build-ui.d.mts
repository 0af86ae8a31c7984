/** Builds the page's script and styles; resolves with the directory they are in. */
export function buildUi(): Promise<string>;
