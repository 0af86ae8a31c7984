import { indentWithTab } from "@codemirror/commands";
import { javascript } from "@codemirror/lang-javascript";
import { EditorState } from "@codemirror/state";
import { EditorView, keymap } from "@codemirror/view";
import { basicSetup } from "codemirror";
import { type ReactNode, useEffect, useRef } from "react";
import { yCollab } from "y-codemirror.next";
import type { Awareness } from "y-protocols/awareness";
import type * as Y from "yjs";

/**
 * The shared CodeMirror editor, bound to `text` with remote carets from `awareness`.
 * `onView` hears of the view once made (and null when it goes), for following a caret.
 */
export function Editor({
  text,
  awareness,
  onView,
}: {
  text: Y.Text;
  awareness: Awareness;
  onView?: (view: EditorView | null) => void;
}): ReactNode {
  const parent = useRef<HTMLDivElement>(null);

  useEffect(() => {
    if (!parent.current) return;
    const view = new EditorView({
      parent: parent.current,
      state: EditorState.create({
        doc: text.toString(),
        extensions: [
          basicSetup,
          // Tab indents, as in any code editor. CodeMirror's documented escape keeps the
          // keyboard from being trapped: Escape, then Tab, moves focus on.
          keymap.of([indentWithTab]),
          javascript(),
          EditorView.lineWrapping,
          EditorView.contentAttributes.of({
            "aria-label": "Solution",
            "aria-describedby": "editor-hint",
          }),
          yCollab(text, awareness),
        ],
      }),
    });
    onView?.(view);
    return () => {
      onView?.(null);
      view.destroy();
    };
  }, [text, awareness, onView]);

  return (
    <>
      <div className="editor" ref={parent} />
      <p className="hint editor-hint" id="editor-hint">
        Tab indents. To leave the editor with the keyboard, press Esc, then Tab.
      </p>
    </>
  );
}
