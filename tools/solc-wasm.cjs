#!/usr/bin/env node
// An offline `solc` executable for py-solc-x, Brownie and Slither, built on the npm
// package `solc` (the official compiler compiled to WebAssembly). It answers
// `--version` like native solc and serves `--standard-json`; imports are read from the
// file system under the current directory, --base-path, --include-path and
// --allow-paths, so `@openzeppelin/...` resolves through a remapping to node_modules.
"use strict";

const fs = require("fs");
const path = require("path");
const solc = require("solc");

function parseArgs(argv) {
  const opts = { roots: [process.cwd()], standardJson: false, version: false, unknown: [] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const takeValue = () => {
      const eq = arg.indexOf("=");
      return eq >= 0 ? arg.slice(eq + 1) : argv[++i];
    };
    if (arg === "--version") opts.version = true;
    else if (arg === "--standard-json") opts.standardJson = true;
    else if (/^--(base-path|include-path)(=|$)/.test(arg)) opts.roots.push(takeValue());
    else if (/^--allow-paths(=|$)/.test(arg)) opts.roots.push(...takeValue().split(","));
    else opts.unknown.push(arg);
  }
  return opts;
}

function importReader(roots) {
  return (importPath) => {
    const candidates = path.isAbsolute(importPath)
      ? [importPath]
      : roots.map((root) => path.resolve(root, importPath));
    for (const candidate of candidates) {
      if (fs.existsSync(candidate) && fs.statSync(candidate).isFile()) {
        return { contents: fs.readFileSync(candidate, "utf8") };
      }
    }
    return { error: `File not found: ${importPath} (searched ${roots.join(", ")})` };
  };
}

function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (opts.version) {
    const full = solc.version().replace(".Emscripten.clang", ".Linux.wasm");
    process.stdout.write(`solc, the solidity compiler commandline interface\nVersion: ${full}\n`);
    return 0;
  }
  if (!opts.standardJson) {
    process.stderr.write(
      "This solc is the WebAssembly build behind a thin wrapper: only --version and " +
        `--standard-json are supported (got: ${opts.unknown.join(" ") || "no arguments"}).\n`,
    );
    return 2;
  }
  const input = fs.readFileSync(0, "utf8");
  const output = solc.compile(input, { import: importReader(opts.roots) });
  process.stdout.write(output);
  return 0;
}

process.exitCode = main();
