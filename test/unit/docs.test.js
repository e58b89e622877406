// The documentation stays reachable and true: every relative link and anchor resolves, README stays the newcomer's
// page, and docs/ARCHITECTURE.md has one line per folder of src/.
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";

const root = new URL("../../", import.meta.url).pathname;
const pages = [
  "README.md",
  "bench/README.md",
  ...readdirSync(path.join(root, "docs"))
    .filter((file) => file.endsWith(".md"))
    .map((file) => `docs/${file}`),
];

/** Markdown without its fenced code blocks (a `# comment` in a shell block is no heading, a link there no link). */
function prose(markdown) {
  return markdown.replace(/^```[\s\S]*?^```/gm, "");
}

/** The anchors GitHub makes for a page: one per heading (lower case, punctuation dropped, spaces to -), and <a id>. */
function anchorsOf(markdown) {
  const anchors = new Set();
  const seen = new Map();
  for (const [, heading] of prose(markdown).matchAll(/^#{1,6} (.+)$/gm)) {
    const slug = heading
      .toLowerCase()
      .replace(/[^\p{L}\p{N} _-]/gu, "")
      .replace(/ /g, "-");
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    anchors.add(count === 0 ? slug : `${slug}-${count}`);
  }
  for (const [, id] of markdown.matchAll(/<a id="([^"]+)"><\/a>/g)) anchors.add(id);
  return anchors;
}

test("every relative link in README.md, docs/ and bench/README.md points to a file and an anchor that exist", () => {
  const broken = [];
  for (const page of pages) {
    const text = readFileSync(path.join(root, page), "utf8");
    for (const [, target] of prose(text).matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^[a-z]+:/.test(target)) continue;
      const [file, anchor] = target.split("#");
      const resolved = file === "" ? path.join(root, page) : path.join(root, path.dirname(page), file);
      if (!existsSync(resolved)) {
        broken.push(`${page}: ${target} (no such file)`);
        continue;
      }
      if (anchor && !anchorsOf(readFileSync(resolved, "utf8")).has(anchor))
        broken.push(`${page}: ${target} (no anchor)`);
    }
  }
  assert.deepEqual(broken, []);
});

test("the anchor rule is GitHub's", () => {
  const anchors = anchorsOf(
    "# Your own handler: `--app`\n## TLS (`wss://`)\n## Logs\n## Logs\n```sh\n# not a heading\n```\n",
  );
  assert.deepEqual([...anchors], ["your-own-handler---app", "tls-wss", "logs", "logs-1"]);
});

test("README.md stays the newcomer's page: at most 250 lines, the two commands, links to the reference", () => {
  const readme = readFileSync(path.join(root, "README.md"), "utf8");
  assert.ok(readme.split("\n").length <= 250, `README.md has ${readme.split("\n").length} lines`);
  assert.match(readme, /^npm start\b/m);
  assert.match(readme, /^npm test$/m);
  for (const page of pages.filter((page) => page.startsWith("docs/")))
    assert.ok(readme.includes(`](${page}`), `README links to ${page}`);
});

test("docs/ARCHITECTURE.md has one line for each folder of src/, and none for a folder that is gone", () => {
  const listed = [...readFileSync(path.join(root, "docs/ARCHITECTURE.md"), "utf8").matchAll(/^- `src\/([\w-]+)\/`:/gm)]
    .map(([, folder]) => folder)
    .sort();
  const folders = readdirSync(path.join(root, "src"), { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort();
  assert.deepEqual(listed, folders);
});
