#!/usr/bin/env node
// Entry file: parses argv and calls into runner/ — no logic here (STYLE.md).
import { runnerMain } from "./main.js";

process.exitCode = await runnerMain(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
});
