import { recordingLogger, silentLogger } from "@tandem/test-support";
import fc from "fast-check";
import { type KyselyPlugin, SelectQueryNode, TableNode } from "kysely";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import * as Y from "yjs";
import { createUser, findUserById, findUserForSignIn } from "../src/accounts/users.js";
import { createChallenge, getChallenge, listChallenges } from "../src/challenges/challenges.js";
import { SEED_CHALLENGES, SEED_TEST_CASES } from "../src/challenges/seed.js";
import { addMessage, HISTORY_SIZE, recentMessages } from "../src/chat/messages.js";
import { openDatabase, type PairDatabase } from "../src/db/database.js";
import { migrateToLatest } from "../src/db/migrations.js";
import { Rooms, SOLUTION_TEXT, UpdateRefusedError } from "../src/docs/documents.js";
import { DocumentStore } from "../src/docs/store.js";
import { allowInserts, backends, failInserts, type TestStorage } from "./databases.js";
import { edit, THROWING_UPDATE } from "./updates.js";

/** The whole list: the seed set and a test's additions fit in one page. */
const ALL = { limit: 50, after: 0 };

describe.each(backends)("storage on $name", (backend) => {
  let storage: TestStorage;
  let database: PairDatabase;
  /** Who sends the updates in these tests. */
  let userId: number;

  beforeEach(async () => {
    storage = await backend.create();
    database = await openDatabase(storage);
    const user = await createUser(database.db, {
      firstName: "Writer",
      email: "writer@example.com",
      passwordHash: "h",
    });
    userId = user!.id;
  });

  afterEach(async () => {
    await database.db.destroy();
    await storage.cleanup();
  });

  it("runs the migrations once: reopening and re-running change nothing", async () => {
    await migrateToLatest(database.db, database.dialect);
    const again = await openDatabase(storage);
    try {
      const titles = (await listChallenges(again.db, ALL)).challenges.map((c) => c.title);
      expect(titles).toEqual(SEED_CHALLENGES.map((c) => c.title));
    } finally {
      await again.db.destroy();
    }
    expect(SEED_CHALLENGES.length).toBeGreaterThanOrEqual(6);
  });

  it("keeps emails unique, whatever their case", async () => {
    const ada = await createUser(database.db, {
      firstName: "Ada",
      email: "Ada@Example.com",
      passwordHash: "h1",
    });
    expect(ada).toMatchObject({ first_name: "Ada", email: "ada@example.com" });
    expect(Number.isInteger(ada?.id)).toBe(true);
    const twin = await createUser(database.db, {
      firstName: "Other",
      email: " ada@EXAMPLE.com ",
      passwordHash: "h2",
    });
    expect(twin).toBeNull();
    expect(await findUserById(database.db, ada?.id ?? 0)).toEqual(ada);
    expect(await findUserForSignIn(database.db, "ADA@example.com")).toMatchObject({
      id: ada?.id,
      password_hash: "h1",
    });
    expect(await findUserById(database.db, 9999)).toBeUndefined();
  });

  it("creates, reads and lists challenges", async () => {
    const author = await createUser(database.db, {
      firstName: "Grace",
      email: "grace@example.com",
      passwordHash: "h",
    });
    const created = await createChallenge(database.db, {
      title: "FizzBuzz",
      description: "Print the numbers.",
      starterCode: "// go\n",
      tests: [{ function: "fizz", args: "[3]", expected: '"Fizz"' }],
      authorId: author?.id ?? 0,
    });
    expect(created).toMatchObject({
      title: "FizzBuzz",
      starter_code: "// go\n",
      tests: [{ function: "fizz", args: "[3]", expected: '"Fizz"' }],
    });
    expect(await getChallenge(database.db, created.id)).toEqual(created);
    const { challenges: list } = await listChallenges(database.db, ALL);
    expect(list).toHaveLength(SEED_CHALLENGES.length + 1);
    expect(list.at(-1)).toEqual({
      id: created.id,
      title: "FizzBuzz",
      description: "Print the numbers.",
    });
    expect(await getChallenge(database.db, 123_456)).toBeUndefined();
  });

  it("gives the seed challenges their tests", async () => {
    const { challenges: list } = await listChallenges(database.db, ALL);
    for (const summary of list) {
      const challenge = await getChallenge(database.db, summary.id);
      expect(challenge?.tests).toEqual(SEED_TEST_CASES[summary.title] ?? []);
    }
    expect(Object.keys(SEED_TEST_CASES).length).toBeGreaterThanOrEqual(5);
  });

  it("keeps each room's chat, and loads its latest messages oldest first", async () => {
    const [first, second] = (await listChallenges(database.db, ALL)).challenges;
    const challengeId = first?.id ?? 0;
    const sent = [];
    for (let i = 0; i < HISTORY_SIZE + 2; i++) {
      sent.push(
        await addMessage(database.db, { challengeId, userId, firstName: "Writer", body: `m${i}` }),
      );
    }
    await addMessage(database.db, {
      challengeId: second?.id ?? 0,
      userId,
      firstName: "Writer",
      body: "elsewhere",
    });
    const history = await recentMessages(database.db, challengeId);
    expect(history).toEqual(sent.slice(2));
    expect(history[0]).toMatchObject({ user_id: userId, first_name: "Writer", body: "m2" });
  });

  it("seeds a new document with the starter code, once, and persists every update", async () => {
    const [challenge] = (await listChallenges(database.db, ALL)).challenges;
    const { starter_code } = (await getChallenge(database.db, challenge?.id ?? 0))!;
    const store = new DocumentStore(database.db);
    const rooms = new Rooms(store, { logger: silentLogger, compactAfter: 1000 });
    const room = await rooms.acquire(challenge!.id, starter_code);
    expect(room.text()).toBe(starter_code);
    await room.apply(
      edit(room.encodeState(), (t) => t.insert(0, "// one\n")),
      userId,
    );
    await room.apply(
      edit(room.encodeState(), (t) => t.insert(t.length, "// two\n")),
      userId,
    );
    rooms.release(room);
    await rooms.drain();
    expect(rooms.size).toBe(0);

    // A second server over the same data sees the same text, and does not seed again.
    const reopened = await openDatabase(storage);
    try {
      const other = new Rooms(new DocumentStore(reopened.db), { logger: silentLogger });
      const again = await other.acquire(challenge!.id, starter_code);
      expect(again.text()).toBe(`// one\n${starter_code}// two\n`);
      other.release(again);
      await other.drain();
    } finally {
      await reopened.db.destroy();
    }
  });

  it("compacts appended updates into the snapshot without changing the text", async () => {
    const store = new DocumentStore(database.db);
    const rooms = new Rooms(store, { logger: silentLogger, compactAfter: 5 });
    const room = await rooms.acquire(1, "start\n");
    for (let i = 0; i < 12; i++) {
      await room.apply(
        edit(room.encodeState(), (t) => t.insert(t.length, `${i};`)),
        userId,
      );
    }
    await rooms.drain();
    const stored = await store.load(1);
    expect(stored.updates.length).toBeLessThan(5);
    const doc = new Y.Doc();
    Y.applyUpdate(doc, stored.snapshot!);
    for (const u of stored.updates) Y.applyUpdate(doc, u.payload);
    expect(doc.getText(SOLUTION_TEXT).toString()).toBe(room.text());
    expect(room.text()).toBe("start\n0;1;2;3;4;5;6;7;8;9;10;11;");
    rooms.release(room);
    await rooms.drain();
    expect((await store.load(1)).updates).toHaveLength(0);
  });

  it("loses no update when compactions of one document overlap", async () => {
    // A room's release compacts while its periodic compaction may still run, and another
    // server may compact the same document. Here the first compaction stops after reading
    // the updates and the snapshot until a second one, which read one update more, has
    // finished: the first must not then write its snapshot over the second's.
    const store = new DocumentStore(database.db);
    let gate: Promise<void> | null = null;
    const reads = new WeakSet<object>();
    const slowStore = new DocumentStore(
      database.db.withPlugin({
        transformQuery({ node, queryId }) {
          const table = SelectQueryNode.is(node) ? node.from?.froms[0] : undefined;
          if (table && TableNode.is(table)) {
            if (table.table.identifier.name === "challenge_documents") reads.add(queryId);
          }
          return node;
        },
        async transformResult({ result, queryId }) {
          if (gate && reads.has(queryId)) await gate;
          return result;
        },
      } satisfies KyselyPlugin),
    );
    const rooms = new Rooms(store, { logger: silentLogger, compactAfter: 1000 });
    const room = await rooms.acquire(1, "");
    const type = (text: string) =>
      room.apply(
        edit(room.encodeState(), (t) => t.insert(t.length, text)),
        userId,
      );
    await type("one;");
    let open: () => void = () => {};
    gate = new Promise((resolve) => {
      open = resolve;
    });
    const first = slowStore.compact(1);
    await new Promise((resolve) => setTimeout(resolve, 100));
    // On PostgreSQL these run while the first compaction waits; SQLite has one connection,
    // so there they wait for it.
    const second = type("two;").then(() => store.compact(1));
    await new Promise((resolve) => setTimeout(resolve, 300));
    open();
    await Promise.all([first, second]);
    expect(room.text()).toBe("one;two;");
    rooms.release(room);
    await rooms.drain();
    const fresh = new Rooms(store, { logger: silentLogger });
    const reloaded = await fresh.acquire(1, "");
    expect(reloaded.text()).toBe("one;two;");
    fresh.release(reloaded);
  });

  it("refuses to store bytes that are not a Yjs update", async () => {
    const rooms = new Rooms(new DocumentStore(database.db), { logger: silentLogger });
    const room = await rooms.acquire(1, "x");
    await expect(room.apply(new TextEncoder().encode("hello world"), userId)).rejects.toThrow(
      "invalid update",
    );
    expect((await new DocumentStore(database.db).load(1)).updates).toHaveLength(0);
    rooms.release(room);
  });

  it("never stores an update that decodes but throws when applied", async () => {
    expect(() => Y.decodeUpdate(THROWING_UPDATE)).not.toThrow();
    const store = new DocumentStore(database.db);
    const rooms = new Rooms(store, { logger: silentLogger, compactAfter: 1000 });
    const room = await rooms.acquire(1, "base\n");
    const before = room.encodeState();
    await expect(room.apply(THROWING_UPDATE, userId)).rejects.toThrow("invalid update");
    expect((await store.load(1)).updates).toHaveLength(0);
    expect(room.encodeState()).toEqual(before);
    // The room goes on: a valid edit applies, and the stored document loads and compacts.
    await room.apply(
      edit(room.encodeState(), (t) => t.insert(t.length, "after\n")),
      userId,
    );
    expect(room.text()).toBe("base\nafter\n");
    await store.compact(1);
    const fresh = new Rooms(store, { logger: silentLogger });
    const reloaded = await fresh.acquire(1, "base\n");
    expect(reloaded.text()).toBe("base\nafter\n");
    fresh.release(reloaded);
    rooms.release(room);
    await rooms.drain();
  });

  it("loads a room whose stored rows are bad, quarantining each bad row once", async () => {
    const store = new DocumentStore(database.db);
    const setup = new Rooms(store, { logger: silentLogger });
    const first = await setup.acquire(1, "base\n");
    const one = edit(first.encodeState(), (t) => t.insert(t.length, "one\n"));
    setup.release(first);
    // What the code before validation stored: a good edit, the bad one, another good edit.
    await store.append(1, one);
    await store.append(1, THROWING_UPDATE);
    const afterOne = Y.mergeUpdates([(await store.load(1)).snapshot!, one]);
    await store.append(
      1,
      edit(afterOne, (t) => t.insert(t.length, "two\n")),
    );
    const badId = (await store.load(1)).updates[1]!.id;

    const logger = recordingLogger();
    const rooms = new Rooms(store, { logger, compactAfter: 1000 });
    const room = await rooms.acquire(1, "base\n");
    expect(room.text()).toBe("base\none\ntwo\n");
    const quarantined = await database.db
      .selectFrom("challenge_document_quarantine")
      .selectAll()
      .execute();
    expect(quarantined).toMatchObject([{ challenge_id: 1, update_id: badId }]);
    expect(new Uint8Array(quarantined[0]!.payload)).toEqual(THROWING_UPDATE);
    expect((await store.load(1)).updates.map((u) => u.id)).not.toContain(badId);
    rooms.release(room);
    await rooms.drain();

    // Loading again finds nothing to quarantine; compaction works.
    const again = await rooms.acquire(1, "base\n");
    expect(again.text()).toBe("base\none\ntwo\n");
    rooms.release(again);
    await rooms.drain();
    expect(logger.entries.filter((e) => e.level === "error")).toHaveLength(1);
    await expect(store.compact(1)).resolves.toEqual([]);
  });

  it("no sequence of updates, valid or mutated, makes the room unloadable or un-compactable", async () => {
    const store = new DocumentStore(database.db);
    let challengeId = 0;
    const op = fc.record({
      client: fc.integer({ min: 1, max: 3 }),
      at: fc.nat(),
      insert: fc.string({ maxLength: 4 }),
      remove: fc.nat({ max: 3 }),
      // The whole state, as a client sends after a reconnect, or just the edit.
      whole: fc.boolean(),
      // Half valid edits, half edits with one to three bytes overwritten, as the attacker did.
      flips: fc.oneof(
        fc.constant([]),
        fc.array(fc.noBias(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 }))), {
          minLength: 1,
          maxLength: 3,
        }),
      ),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 12 }), async (ops) => {
        challengeId = (challengeId % 6) + 1;
        await database.db.deleteFrom("challenge_document_updates").execute();
        await database.db.deleteFrom("challenge_documents").execute();
        const rooms = new Rooms(store, { logger: silentLogger, compactAfter: 3 });
        const room = await rooms.acquire(challengeId, "start");
        for (const { client, at, insert, remove, whole, flips } of ops) {
          const doc = new Y.Doc();
          doc.clientID = client;
          Y.applyUpdate(doc, room.encodeState());
          const before = Y.encodeStateVector(doc);
          const text = doc.getText(SOLUTION_TEXT);
          text.insert(at % (text.length + 1), insert);
          if (remove > 0)
            text.delete(at % text.length, Math.min(remove, text.length - (at % text.length)));
          const update = whole ? Y.encodeStateAsUpdate(doc) : Y.encodeStateAsUpdate(doc, before);
          for (const [i, byte] of flips) update[i % update.length] = byte;
          doc.destroy();
          await room.apply(update, userId).catch((err: unknown) => {
            if (!(err instanceof UpdateRefusedError)) throw err;
          });
        }
        const live = room.text();
        rooms.release(room);
        await rooms.drain();
        const fresh = new Rooms(store, { logger: silentLogger });
        const reloaded = await fresh.acquire(challengeId, "start");
        const text = reloaded.text();
        fresh.release(reloaded);
        // A restart shows what the room showed.
        expect(text).toBe(live);
        await store.compact(challengeId);
        const compacted = await fresh.acquire(challengeId, "start");
        expect(compacted.text()).toBe(text);
        fresh.release(compacted);
        // Nothing bad was ever stored, so nothing needed moving aside.
        const quarantined = await database.db
          .selectFrom("challenge_document_quarantine")
          .select("id")
          .execute();
        expect(quarantined).toEqual([]);
      }),
      // FUZZ_RUNS=2000 runs it longer (`npm run fuzz`), FUZZ_SEED replays a run.
      {
        numRuns: Number(process.env.FUZZ_RUNS ?? 30),
        ...(process.env.FUZZ_SEED ? { seed: Number(process.env.FUZZ_SEED) } : {}),
      },
    );
  });

  it("compacts a store that holds a bad row, quarantining it", async () => {
    const store = new DocumentStore(database.db);
    expect(await store.create(1, Y.encodeStateAsUpdate(new Y.Doc()))).toBe(true);
    await store.append(1, THROWING_UPDATE);
    const moved = await store.compact(1);
    expect(moved).toHaveLength(1);
    expect((await store.load(1)).updates).toHaveLength(0);
    const count = await database.db
      .selectFrom("challenge_document_quarantine")
      .select((eb) => eb.fn.countAll<number>().as("n"))
      .executeTakeFirstOrThrow();
    expect(Number(count.n)).toBe(1);
  });

  it("surfaces a failed write as an error and keeps what was saved", async () => {
    const store = new DocumentStore(database.db);
    const rooms = new Rooms(store, { logger: silentLogger });
    const room = await rooms.acquire(2, "base\n");
    await room.apply(
      edit(room.encodeState(), (t) => t.insert(t.length, "saved\n")),
      userId,
    );

    await failInserts(database.db, database.dialect, "challenge_document_updates");
    const lost = edit(room.encodeState(), (t) => t.insert(t.length, "unsaved\n"));
    await expect(room.apply(lost, userId)).rejects.toThrow(/injected failure/);
    // Neither memory nor the database took the update.
    expect(room.text()).toBe("base\nsaved\n");
    // A compaction that fails rolls back whole.
    await failInserts(database.db, database.dialect, "challenge_documents");
    await expect(store.compact(2)).rejects.toThrow(/injected failure/);
    await allowInserts(database.db, database.dialect, "challenge_documents");

    const fresh = new Rooms(store, { logger: silentLogger });
    // The room is still open in `rooms`; a second registry reads straight from the database.
    const reloaded = await fresh.acquire(2, "base\n");
    expect(reloaded.text()).toBe("base\nsaved\n");
    fresh.release(reloaded);

    // Once the database is back, the client's retry goes through.
    await allowInserts(database.db, database.dialect, "challenge_document_updates");
    await room.apply(lost, userId);
    expect(room.text()).toBe("base\nsaved\nunsaved\n");
    rooms.release(room);
    await rooms.drain();
  });

  it("loads a consistent document while another server compacts it", async () => {
    const store = new DocumentStore(database.db);
    const rooms = new Rooms(store, { logger: silentLogger, compactAfter: 1000 });
    const room = await rooms.acquire(1, "start\n");
    for (let i = 0; i < 3; i++) {
      await room.apply(
        edit(room.encodeState(), (t) => t.insert(t.length, `${i};`)),
        userId,
      );
    }
    // Another server (its own connection) compacts right after the load's first read.
    const other = await openDatabase(storage);
    let compacted = false;
    const compactAfterFirstRead: KyselyPlugin = {
      transformQuery: (args) => args.node,
      async transformResult(args) {
        if (!compacted) {
          compacted = true;
          await new DocumentStore(other.db).compact(1);
        }
        return args.result;
      },
    };
    try {
      const stored = await new DocumentStore(database.db.withPlugin(compactAfterFirstRead)).load(1);
      expect(compacted).toBe(true);
      const doc = new Y.Doc();
      if (stored.snapshot) Y.applyUpdate(doc, stored.snapshot);
      for (const u of stored.updates) Y.applyUpdate(doc, u.payload);
      expect(doc.getText(SOLUTION_TEXT).toString()).toBe("start\n0;1;2;");
      expect((await store.load(1)).updates).toHaveLength(0);
    } finally {
      await other.db.destroy();
    }
    rooms.release(room);
    await rooms.drain();
  });

  it("keeps the first seed when two servers open a new room at once", async () => {
    const store = new DocumentStore(database.db);
    const seedA = new Y.Doc();
    seedA.getText(SOLUTION_TEXT).insert(0, "A");
    const seedB = new Y.Doc();
    seedB.getText(SOLUTION_TEXT).insert(0, "B");
    expect(await store.create(3, Y.encodeStateAsUpdate(seedA))).toBe(true);
    expect(await store.create(3, Y.encodeStateAsUpdate(seedB))).toBe(false);
    const rooms = new Rooms(store, { logger: silentLogger });
    const room = await rooms.acquire(3, "C");
    expect(room.text()).toBe("A");
    rooms.release(room);
  });
});
