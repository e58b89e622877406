#!/usr/bin/env node
// Rewrites the README's options table from the settings table (src/config/settings.ts), so the two cannot drift.
// Run after `npm run build`: npm run docs:options
import { readFileSync, writeFileSync } from "node:fs";
import { renderOptionsTable } from "../dist/config/settings.js";

const path = new URL("../README.md", import.meta.url);
const readme = readFileSync(path, "utf8");
const pattern = /<!-- options:start -->\n[\s\S]*?<!-- options:end -->/;
if (!pattern.test(readme)) throw new Error("README.md has no <!-- options:start --> … <!-- options:end --> block");
writeFileSync(path, readme.replace(pattern, `<!-- options:start -->\n${renderOptionsTable()}\n<!-- options:end -->`));
