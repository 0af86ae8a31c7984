import react from "@vitejs/plugin-react";
import { defaultClientConditions, defineConfig } from "vite";

// In development the Pair server runs on :4000; the page talks to it through this proxy so
// that it is same-origin, as in production, where the server serves the built app itself.
export default defineConfig({
  plugins: [react()],
  // The workspace packages from their TypeScript sources, so the app needs no build of them.
  resolve: { conditions: ["@tandem/source", ...defaultClientConditions] },
  // The room's chunk is CodeMirror and Yjs (about 600 kB before gzip); it loads only when a
  // room opens, so its size is expected.
  build: { chunkSizeWarningLimit: 700 },
  server: {
    proxy: {
      "/api": "http://127.0.0.1:4000",
      "/socket": { target: "http://127.0.0.1:4000", ws: true },
    },
  },
});
