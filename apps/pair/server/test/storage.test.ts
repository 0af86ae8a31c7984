import type { KyselyPlugin } from "kysely";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import * as Y from "yjs";
import { createUser, findUserById, findUserForSignIn } from "../src/accounts/users.js";
import { createChallenge, getChallenge, listChallenges } from "../src/challenges/challenges.js";
import { SEED_CHALLENGES } from "../src/challenges/seed.js";
import { openDatabase, type PairDatabase } from "../src/db/database.js";
import { migrateToLatest } from "../src/db/migrations.js";
import { Rooms, SOLUTION_TEXT } from "../src/docs/documents.js";
import { DocumentStore } from "../src/docs/store.js";
import { allowInserts, backends, failInserts, type TestStorage } from "./databases.js";
import { silentLogger } from "./support.js";

/** An edit made the way a browser makes it: on its own Y.Doc, exported as one update. */
function edit(state: Uint8Array, change: (text: Y.Text) => void): Uint8Array {
  const doc = new Y.Doc();
  Y.applyUpdate(doc, state);
  const before = Y.encodeStateVector(doc);
  change(doc.getText(SOLUTION_TEXT));
  const update = Y.encodeStateAsUpdate(doc, before);
  doc.destroy();
  return update;
}

describe.each(backends)("storage on $name", (backend) => {
  let storage: TestStorage;
  let database: PairDatabase;

  beforeEach(async () => {
    storage = await backend.create();
    database = await openDatabase(storage);
  });

  afterEach(async () => {
    await database.db.destroy();
    await storage.cleanup();
  });

  it("runs the migrations once: reopening and re-running change nothing", async () => {
    await migrateToLatest(database.db, database.dialect);
    const again = await openDatabase(storage);
    try {
      const titles = (await listChallenges(again.db)).map((c) => c.title);
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
      authorId: author?.id ?? 0,
    });
    expect(created).toMatchObject({ title: "FizzBuzz", starter_code: "// go\n" });
    expect(await getChallenge(database.db, created.id)).toEqual(created);
    const list = await listChallenges(database.db);
    expect(list).toHaveLength(SEED_CHALLENGES.length + 1);
    expect(list.at(-1)).toEqual({
      id: created.id,
      title: "FizzBuzz",
      description: "Print the numbers.",
    });
    expect(await getChallenge(database.db, 123_456)).toBeUndefined();
  });

  it("seeds a new document with the starter code, once, and persists every update", async () => {
    const [challenge] = await listChallenges(database.db);
    const { starter_code } = (await getChallenge(database.db, challenge?.id ?? 0))!;
    const store = new DocumentStore(database.db);
    const rooms = new Rooms(store, { logger: silentLogger, compactAfter: 1000 });
    const room = await rooms.acquire(challenge!.id, starter_code);
    expect(room.text()).toBe(starter_code);
    await room.apply(edit(room.encodeState(), (t) => t.insert(0, "// one\n")));
    await room.apply(edit(room.encodeState(), (t) => t.insert(t.length, "// two\n")));
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
      await room.apply(edit(room.encodeState(), (t) => t.insert(t.length, `${i};`)));
    }
    await rooms.drain();
    const stored = await store.load(1);
    expect(stored.updates.length).toBeLessThan(5);
    const doc = new Y.Doc();
    Y.applyUpdate(doc, stored.snapshot!);
    for (const u of stored.updates) Y.applyUpdate(doc, u);
    expect(doc.getText(SOLUTION_TEXT).toString()).toBe(room.text());
    expect(room.text()).toBe("start\n0;1;2;3;4;5;6;7;8;9;10;11;");
    rooms.release(room);
    await rooms.drain();
    expect((await store.load(1)).updates).toHaveLength(0);
  });

  it("refuses to store bytes that are not a Yjs update", async () => {
    const rooms = new Rooms(new DocumentStore(database.db), { logger: silentLogger });
    const room = await rooms.acquire(1, "x");
    await expect(room.apply(new TextEncoder().encode("hello world"))).rejects.toThrow(
      "not a Yjs update",
    );
    expect((await new DocumentStore(database.db).load(1)).updates).toHaveLength(0);
    rooms.release(room);
  });

  it("surfaces a failed write as an error and keeps what was saved", async () => {
    const store = new DocumentStore(database.db);
    const rooms = new Rooms(store, { logger: silentLogger });
    const room = await rooms.acquire(2, "base\n");
    await room.apply(edit(room.encodeState(), (t) => t.insert(t.length, "saved\n")));

    await failInserts(database.db, database.dialect, "challenge_document_updates");
    const lost = edit(room.encodeState(), (t) => t.insert(t.length, "unsaved\n"));
    await expect(room.apply(lost)).rejects.toThrow(/injected failure/);
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
    await room.apply(lost);
    expect(room.text()).toBe("base\nsaved\nunsaved\n");
    rooms.release(room);
    await rooms.drain();
  });

  it("loads a consistent document while another server compacts it", async () => {
    const store = new DocumentStore(database.db);
    const rooms = new Rooms(store, { logger: silentLogger, compactAfter: 1000 });
    const room = await rooms.acquire(1, "start\n");
    for (let i = 0; i < 3; i++) {
      await room.apply(edit(room.encodeState(), (t) => t.insert(t.length, `${i};`)));
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
      for (const u of stored.updates) Y.applyUpdate(doc, u);
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
