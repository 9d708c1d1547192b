// Builds the labeling and review pages into dist/, which Django serves as static files under
// STATIC_URL + "frontend/" (STATICFILES_DIRS = [("frontend", BASE_DIR / "frontend/dist")]).
// Each template includes fixed names (label.js + label.css, review.js + review.css); everything
// they load (the viewer chunk both share, the decode worker, codec .wasm files) is hashed under
// assets/ and fetched from the same origin by URL, never inlined as data:/blob: URLs.
import { defineConfig } from "vite";

const hashed = "assets/[name]-[hash]";

export default defineConfig({
  base: "/static/frontend/",
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "es2022",
    // vtk.js makes the viewer one large module by nature.
    chunkSizeWarningLimit: 4000,
    assetsInlineLimit: 0,
    rollupOptions: {
      input: { label: "src/label.js", review: "src/review.js" },
      output: {
        entryFileNames: "[name].js",
        chunkFileNames: `${hashed}.js`,
        // An entry's own stylesheet keeps its source name (label.css, review.css).
        assetFileNames: (asset) =>
          (asset.names ?? []).some((name) => name.endsWith(".css")) ? "[name][extname]" : `${hashed}[extname]`,
      },
      onwarn(warning, warn) {
        // The Emscripten codecs import fs/path only on their Node.js code path.
        if (warning.plugin === "vite:resolve" && /Module "(fs|path)" has been externalized/.test(warning.message)) return;
        warn(warning);
      },
    },
  },
  worker: {
    // The decode worker is an ES module worker that code-splits, which "iife" cannot do.
    format: "es",
    rollupOptions: {
      output: {
        entryFileNames: `${hashed}.js`,
        chunkFileNames: `${hashed}.js`,
        assetFileNames: `${hashed}[extname]`,
      },
      onwarn(warning, warn) {
        if (warning.plugin === "vite:resolve" && /Module "(fs|path)" has been externalized/.test(warning.message)) return;
        warn(warning);
      },
    },
  },
});
