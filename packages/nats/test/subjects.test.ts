import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { subjectsFor, subjectToken } from "../src/index.js";

const anyName = fc.string({ unit: "grapheme", maxLength: 30 });

describe("subjectToken", () => {
  it("is one valid subject token for any name: no dot, wildcard, whitespace or emptiness", () => {
    fc.assert(
      fc.property(anyName, (name) => {
        expect(subjectToken(name)).toMatch(/^[A-Za-z0-9_=-]+$/);
      }),
    );
  });

  it("never gives two names the same token", () => {
    fc.assert(
      fc.property(anyName, anyName, (a, b) => {
        fc.pre(a !== b);
        expect(subjectToken(a)).not.toBe(subjectToken(b));
      }),
    );
  });

  it("leaves plain names alone and escapes the rest byte by byte", () => {
    expect(subjectToken("room_1-a")).toBe("room_1-a");
    expect(subjectToken("tandem:tracker")).toBe("tandem=3Atracker");
    expect(subjectToken("a.b")).toBe("a=2Eb");
    expect(subjectToken("*")).toBe("=2A");
    expect(subjectToken("=")).toBe("=3D");
    expect(subjectToken("é")).toBe("=C3=A9");
    expect(subjectToken("")).toBe("=");
  });
});

describe("subjectsFor", () => {
  it("puts every subject under the prefix's token", () => {
    const subjects = subjectsFor("my.app");
    expect(subjects.broadcast).toBe("my=2Eapp.bc");
    expect(subjects.direct("web-1")).toBe("my=2Eapp.node.web-1");
    expect(subjects.channel("room:42")).toBe("my=2Eapp.ch.room=3A42");
  });
});
