// Parse Mermaid diagrams with mermaid's own parser, in node without a browser (jsdom stands in for the DOM).
// usage: node parse.mjs FILE... ; prints "FILE: ok TYPE" or "FILE: ERROR" per file; exit 1 if any fails.
import { JSDOM } from "jsdom";
import { readFileSync } from "fs";

const dom = new JSDOM("<!doctype html><html><body></body></html>");
globalThis.window = dom.window;
globalThis.document = dom.window.document;
const { default: mermaid } = await import("mermaid");
mermaid.initialize({ startOnLoad: false });
let failed = 0;
for (const file of process.argv.slice(2)) {
  try {
    const result = await mermaid.parse(readFileSync(file, "utf8"));
    console.log(`${file}: ok ${result.diagramType}`);
  } catch (e) {
    failed++;
    console.log(`${file}: ${String(e.message || e).split("\n").slice(0, 4).join(" | ")}`);
  }
}
process.exit(failed ? 1 : 0);
