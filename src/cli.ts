#!/usr/bin/env node
// Entry file: parses argv and calls into src/ — no logic here (STYLE.md).
import { existsSync } from "node:fs";
import { kanbotMain } from "./commands.js";

// Probot's setup flow writes the new App's credentials to .env; later starts read them from there.
if (existsSync(".env")) process.loadEnvFile(".env");

process.exitCode = await kanbotMain(process.argv.slice(2), process.env, {
  stdout: process.stdout,
  stderr: process.stderr,
});
