import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { excerpt, markdown, plainText, shorten } from "../src/markdown/excerpt.js";

describe("excerpt", () => {
  it("shows a description's words without its markup", () => {
    expect(
      plainText(
        "Write `isBalanced(text)` that returns **true** when\nevery [bracket](https://x.test) " +
          "closes.\n\n- one\n- two &amp; three\n\n<script>alert(1)</script>",
      ),
    ).toBe("Write isBalanced(text) that returns true when every bracket closes. one two & three");
  });

  it("renders raw HTML as text rather than markup", () => {
    const html = markdown.parse('Hi <img src="x" onerror="alert(1)"> **there**', { async: false });
    expect(html).toBe(
      "<p>Hi &#60;img src=&#34;x&#34; onerror=&#34;alert(1)&#34;&#62; <strong>there</strong></p>\n",
    );
  });

  it("cuts at a word boundary and marks the cut", () => {
    expect(shorten("alpha beta gamma", 12)).toBe("alpha beta…");
    expect(shorten("alpha beta", 12)).toBe("alpha beta");
    expect(shorten("supercalifragilistic", 10)).toBe("supercali…");
    expect(excerpt("*a* ".repeat(100), 20)).toBe("a a a a a a a a a a…");
  });

  it("never exceeds its length, and is a prefix of the text when it cuts", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), fc.integer({ min: 2, max: 200 }), (text, max) => {
        const short = shorten(text, max);
        expect(short.length).toBeLessThanOrEqual(max);
        if (short !== text) {
          expect(short.endsWith("…")).toBe(true);
          expect(text.startsWith(short.slice(0, -1))).toBe(true);
        }
      }),
    );
  });

  it("never keeps markup characters that are not in the words", () => {
    fc.assert(
      fc.property(
        fc.array(fc.stringMatching(/^[a-z]{1,8}$/), { minLength: 1, maxLength: 20 }),
        (words) => {
          const marked = words.map((w, i) =>
            i % 3 === 0 ? `**${w}**` : i % 3 === 1 ? `\`${w}\`` : `_${w}_`,
          );
          expect(plainText(marked.join(" "))).toBe(words.join(" "));
        },
      ),
    );
  });
});
