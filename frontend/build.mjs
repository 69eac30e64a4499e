// Bundle the room and the console into platform/web/static/web/dist/ (committed,
// so running Faultline needs no Node). `npm ci && npm run build` reproduces it.
import { rmSync } from "node:fs";
import { build } from "esbuild";

// FRONTEND_OUTDIR: another folder, for scripts/check_frontend_bundle.sh to compare.
const outdir = process.env.FRONTEND_OUTDIR || "../platform/web/static/web/dist";
// Chunk names carry a content hash: clear the output so no stale chunk stays committed.
rmSync(outdir, { recursive: true, force: true });

await build({
  entryPoints: {
    room: "src/room.js",
    console: "src/console.js",
    preview: "src/preview.js",
    xterm: "node_modules/@xterm/xterm/css/xterm.css",
  },
  bundle: true,
  minify: true,
  format: "esm",
  splitting: true,
  target: ["es2020"],
  outdir,
  chunkNames: "chunk-[hash]",
  legalComments: "linked",
  logLevel: "info",
});
