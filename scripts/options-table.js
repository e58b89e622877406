#!/usr/bin/env node
// Rewrites docs/options.md's table from the settings table (src/config/settings.ts), so the two cannot drift.
// Run after `npm run build`: npm run docs:options
import { readFileSync, writeFileSync } from "node:fs";
import { renderOptionsTable } from "../dist/config/settings.js";

const path = new URL("../docs/options.md", import.meta.url);
const page = readFileSync(path, "utf8");
const pattern = /<!-- options:start -->\n[\s\S]*?<!-- options:end -->/;
if (!pattern.test(page)) throw new Error("docs/options.md has no <!-- options:start --> … <!-- options:end --> block");
writeFileSync(path, page.replace(pattern, `<!-- options:start -->\n${renderOptionsTable()}\n<!-- options:end -->`));
