/** A fenced TypeScript block of a Markdown document, as the file it stands for. */
export interface CodeBlock {
  /** From the block's first line, `// file: <name>`, or `block-<n>.<lang>` without one. */
  name: string;
  code: string;
}

const FENCE = /^```(ts|tsx)\n([\s\S]*?)^```$/gm;
const FILE_COMMENT = /^\/\/ file: ([\w.-]+\.tsx?)\n/;

/** The ```ts and ```tsx blocks of `markdown`, in order. Throws on a name used twice. */
export function extractCodeBlocks(markdown: string): CodeBlock[] {
  const blocks: CodeBlock[] = [];
  for (const [, lang, code = ""] of markdown.matchAll(FENCE)) {
    const name = FILE_COMMENT.exec(code)?.[1] ?? `block-${blocks.length + 1}.${lang}`;
    if (blocks.some((block) => block.name === name)) {
      throw new Error(`two code blocks are named ${name}`);
    }
    blocks.push({ name, code });
  }
  return blocks;
}
