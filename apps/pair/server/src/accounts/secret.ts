import { randomBytes } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";

/** Shorter secrets make HMAC tokens guessable offline. */
const MIN_SECRET_LENGTH = 32;

/**
 * The token signing secret: `configured` when given, otherwise the one kept in
 * `dataDir/secret_key_base`, generated on first run (readable by the owner only). Keeping
 * it on disk means tokens survive restarts without anyone having to configure a secret.
 */
export async function loadSecretKeyBase(
  configured: string | undefined,
  dataDir: string,
): Promise<string> {
  if (configured !== undefined) {
    if (configured.length < MIN_SECRET_LENGTH) {
      throw new Error(`SECRET_KEY_BASE must be at least ${MIN_SECRET_LENGTH} characters`);
    }
    return configured;
  }
  const file = join(dataDir, "secret_key_base");
  await mkdir(dataDir, { recursive: true });
  const generated = randomBytes(48).toString("base64url");
  try {
    // "wx": if two processes start at once, exactly one writes and both read its secret.
    await writeFile(file, generated, { mode: 0o600, flag: "wx" });
    return generated;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
  }
  const stored = (await readFile(file, "utf8")).trim();
  if (stored.length < MIN_SECRET_LENGTH)
    throw new Error(`${file} holds a secret that is too short`);
  return stored;
}
