import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type Entry,
  splitTransfer,
  TrackerState,
  type Transfer,
  TransferAssembly,
  type TransferPart,
} from "../src/tracker/index.js";
import { jsonBytes } from "../src/tracker/transfer-parts.js";

const REPLICAS = ["a#1", "b#2", "ç#3"];

const entryArb: fc.Arbitrary<Entry> = fc.record({
  owner: fc.string({ maxLength: 8 }),
  topic: fc.constantFrom("lobby", "room:1", "ルーム"),
  key: fc.string({ unit: "grapheme", maxLength: 12 }),
  meta: fc.record({ name: fc.string({ unit: "grapheme", maxLength: 80 }) }),
  tag: fc.record({ replica: fc.constantFrom(...REPLICAS), clock: fc.nat(10_000) }),
});

const transferArb: fc.Arbitrary<Transfer> = fc.record({
  kind: fc.constant("transfer" as const),
  context: fc.dictionary(fc.constantFrom(...REPLICAS), fc.nat(10_000)),
  clouds: fc.dictionary(
    fc.constantFrom(...REPLICAS),
    fc
      .uniqueArray(fc.nat(1_000_000), { minLength: 1, maxLength: 60 })
      .map((dots) => dots.sort((x, y) => x - y)),
  ),
  values: fc.array(entryArb, { maxLength: 80 }),
});

/** Every part, in a shuffled order with some twice. */
function scrambled(parts: TransferPart[], order: number[]): TransferPart[] {
  return order.map((i) => parts[i % parts.length]!).concat(parts);
}

describe("transfers in parts", () => {
  it("splits into parts of at most the bound that reassemble, in any order and with duplicates, into the transfer", () => {
    fc.assert(
      fc.property(
        transferArb,
        fc.integer({ min: 300, max: 4000 }),
        fc.array(fc.nat(), { maxLength: 20 }),
        (transfer, maxBytes, order) => {
          const parts = splitTransfer(transfer, 7, maxBytes);
          for (const part of parts) {
            expect(part).toMatchObject({ id: 7, count: parts.length, context: transfer.context });
            // Only an entry too big for any part may make one bigger than the bound.
            const alone = part.values.length === 1 && Object.keys(part.clouds).length === 0;
            if (!alone) expect(jsonBytes(part)).toBeLessThanOrEqual(maxBytes);
          }
          expect(parts.map((p) => p.index)).toEqual(parts.map((_, i) => i));

          const assembly = new TransferAssembly(parts[0]!);
          let whole: Transfer | undefined;
          let completions = 0;
          for (const part of scrambled(parts, order)) {
            const result = assembly.add(part);
            if (result) {
              whole = result;
              completions++;
            }
          }
          expect(completions).toBe(1);
          expect(whole).toEqual(transfer);
        },
      ),
    );
  });

  it("keeps a transfer that fits in one part", () => {
    const state = new TrackerState({ name: "a", vsn: 1 });
    for (let i = 0; i < 10; i++) state.join(`o${i}`, "room", `u${i}`, {});
    const transfer = state.extract(state.clocks());
    const parts = splitTransfer(transfer, 1, 1_048_576);
    expect(parts).toHaveLength(1);
    expect(new TransferAssembly(parts[0]!).add(parts[0]!)).toEqual(transfer);
  });

  it("refuses parts of another transfer and never completes without every part", () => {
    const state = new TrackerState({ name: "a", vsn: 1 });
    for (let i = 0; i < 100; i++) state.join(`o${i}`, "room", `u${i}`, { pad: "x".repeat(40) });
    const transfer = state.extract(state.clocks());
    const parts = splitTransfer(transfer, 1, 1024);
    const other = splitTransfer(transfer, 2, 1024);
    expect(parts.length).toBeGreaterThan(3);
    const assembly = new TransferAssembly(parts[0]!);
    for (const part of parts.slice(1)) expect(assembly.add(part)).toBeUndefined();
    for (const part of other) expect(assembly.add(part)).toBeUndefined();
    expect(assembly.received).toBe(parts.length - 1);
    expect(assembly.add(parts[0]!)).toEqual(transfer);
    // Once whole, late duplicates find nothing to fill.
    expect(assembly.add(parts[1]!)).toBeUndefined();
  });
});
