// Bundle the room and the console into platform/web/static/web/dist/ (committed,
// so running Faultline needs no Node). `npm ci && npm run build` reproduces it.
import { build } from "esbuild";

await build({
  entryPoints: { room: "src/room.js", console: "src/console.js" },
  bundle: true,
  minify: true,
  format: "esm",
  splitting: true,
  target: ["es2020"],
  outdir: "../platform/web/static/web/dist",
  chunkNames: "chunk-[hash]",
  legalComments: "linked",
  logLevel: "info",
});
