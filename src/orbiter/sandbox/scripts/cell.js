// One notebook cell, run inside a sandbox by the host's Node: the code comes on stdin; the
// script's completion value (its last expression, awaited when it is a promise) is the
// cell's result, reported with any error as JSON on the side channel ($ORBITER_SIDE_FD).
"use strict";
const fs = require("fs");
const util = require("util");
const vm = require("vm");

const side = Number(process.env.ORBITER_SIDE_FD);
const code = fs.readFileSync(0, "utf8");
globalThis.require = require;

async function main() {
  const report = { results: [], error: null };
  try {
    let value = vm.runInThisContext(code, { filename: "cell.js" });
    if (value && typeof value.then === "function") value = await value;
    if (value !== undefined) report.results.push({ text: util.inspect(value), is_main_result: true });
  } catch (e) {
    const error = e instanceof Error ? e : new Error(util.inspect(e));
    report.error = { name: error.name || "Error", value: error.message, traceback: error.stack || "" };
    process.exitCode = 1;
  }
  fs.writeSync(side, JSON.stringify(report));
  fs.closeSync(side);
}

main();
