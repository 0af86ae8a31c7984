import { fileURLToPath } from "node:url";
import { Application, Logger, LogLevel, TSConfigReader, TypeDocReader } from "typedoc";
import { expect, test } from "vitest";

/** Keeps what TypeDoc would print, so a failure lists every warning at once. */
class CollectingLogger extends Logger {
  readonly messages: string[] = [];

  override log(message: string, level: LogLevel): void {
    super.log(message, level);
    if (level >= LogLevel.Warn) this.messages.push(message);
  }
}

const root = fileURLToPath(new URL("../..", import.meta.url));

// The same configuration as `npm run docs`: the seven entry points, `validation` with
// `notDocumented` and `invalidLink`, and warnings treated as errors.
test("the API reference documents every public export and every {@link} resolves", async () => {
  const app = await Application.bootstrap({ options: `${root}typedoc.json` }, [
    new TypeDocReader(),
    new TSConfigReader(),
  ]);
  const logger = new CollectingLogger();
  logger.level = LogLevel.Warn;
  app.logger = logger;

  const project = await app.convert();
  expect(project, logger.messages.join("\n")).toBeDefined();
  if (project) app.validate(project);

  expect(logger.messages).toEqual([]);
  expect(project?.children?.map((module) => module.name).sort()).toEqual([
    "@tandem/client",
    "@tandem/client/room",
    "@tandem/dashboard",
    "@tandem/nats",
    "@tandem/protocol",
    "@tandem/react",
    "@tandem/redis",
    "@tandem/redux",
    "@tandem/server",
  ]);
}, 120_000);
