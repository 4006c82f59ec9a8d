// `kanbot-runner doctor` checks what matters: each agent's authentication with its CLI's own
// status command (the real Claude Code CLI, offline and with no log-in; fake Codex, OpenCode and
// Gemini CLIs printing what the real ones print, captured from offline runs of Codex 0.169.0,
// OpenCode 1.18.33 and Gemini CLI 0.61.0: see runner/agent-auth.ts), `--live` (one tiny prompt
// through the normal adapter, in the sandbox), and the app's reachability and version.
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

import { afterEach, beforeEach, describe, expect, it } from "vitest";

import type { ClaimApi } from "../../../runner/client.js";
import { loadRunnerConfig } from "../../../runner/config.js";
import {
  APP_VERSION_PATH,
  formatDoctor,
  runDoctor,
  type DoctorCheck,
} from "../../../runner/doctor.js";
import { runnerMain } from "../../../runner/main.js";
import { packageInfo } from "../../../src/package-info.js";

const ROOT = resolve(import.meta.dirname, "../../..");
/** The real Claude Code CLI (a devDependency, 2.1.197). */
const CLAUDE = join(ROOT, "node_modules/.bin/claude");
const CLAUDE_FIXTURES = join(ROOT, "test/fixtures/agents/claude");
const CODEX_FIXTURES = join(ROOT, "test/fixtures/agents/codex");

/** The environment a person would start doctor with: no key unless a test adds one. */
const BASE_ENV = { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? "/root" };

/** A claim answered with no job (204): the app accepts the token. */
const acceptingApi: ClaimApi = { claim: () => Promise.resolve(undefined) };

/**
 * Fake CLIs, each a shell script printing what the real CLI prints (runner/agent-auth.ts names
 * the version and how it was captured). `FAKE_STATE` (set through the agent's `env:`) picks the
 * answer.
 */
const FAKES: Record<string, string> = {
  // Codex 0.169.0 prints `login status` on stderr; exit 1 when not logged in.
  codex: `#!/bin/sh
case "$1 $2" in
  "--version ") echo "codex-cli 0.169.0" ;;
  "login status")
    if [ "$FAKE_STATE" = logged-in ]; then
      printf 'API key configured - sk-proj-***qrstu\\nAuthentication is checked when you send a request.\\n' >&2
      exit 0
    fi
    echo "Not logged in" >&2; exit 1 ;;
  "exec --json") cat "$FAKE_OUTPUT"; exit "\${FAKE_EXIT:-0}" ;;
  *) exit 2 ;;
esac
`,
  // OpenCode 1.18.33: `auth list` exits 0 and prints its boxes on stdout (bytes as captured).
  opencode: `#!/bin/sh
case "$1 $2" in
  "--version ") echo "1.18.33" ;;
  "auth list")
    printf '\\342\\224\\214  Credentials \\033[90m~/.local/share/opencode/auth.json\\n\\342\\224\\202\\n\\342\\224\\224  0 credentials\\n\\n'
    if [ "$FAKE_STATE" = env-key ]; then
      printf '\\342\\224\\214  Environment\\n\\342\\224\\202\\n\\342\\227\\217  Anthropic \\033[90mANTHROPIC_API_KEY\\n\\342\\224\\202\\n\\342\\224\\224  1 environment variable\\n\\n'
    fi ;;
  *) exit 2 ;;
esac
`,
  // Gemini CLI 0.61.0 has no auth status command.
  gemini: `#!/bin/sh
case "$1" in
  --version) echo "0.61.0" ;;
  *) exit 2 ;;
esac
`,
  // Claude Code 2.1.197 in print mode: prints a captured or assembled stream-json run.
  claude: `#!/bin/sh
case "$1" in
  --version) echo "2.1.197 (Claude Code)" ;;
  -p) cat "$FAKE_OUTPUT"; exit "\${FAKE_EXIT:-0}" ;;
  *) exit 2 ;;
esac
`,
  // An agent that never answers (a CLI retrying a refused key), for the live time limit.
  hang: `#!/bin/sh
case "$1" in
  --version) echo "hang 1.0" ;;
  *) exec sleep 600 ;;
esac
`,
};

let dir: string;
let bin: string;
let server: Server | undefined;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "kanbot-doctor-test-"));
  bin = join(dir, "bin");
  mkdirSync(bin);
  for (const [name, script] of Object.entries(FAKES)) {
    writeFileSync(join(bin, name), script);
    chmodSync(join(bin, name), 0o755);
  }
});

afterEach(async () => {
  await new Promise((done) => (server === undefined ? done(undefined) : server.close(done)));
  server = undefined;
  rmSync(dir, { recursive: true, force: true });
});

async function configWith(agentsYaml: string, appUrl = "http://127.0.0.1:9") {
  const file = join(dir, "kanbot-runner.yml");
  writeFileSync(
    file,
    // The fixtures shown read-only in the sandbox: in a clone under /tmp they would be hidden.
    `appUrl: ${appUrl}\nworkDir: ./work\ntoken: kbr_${"a".repeat(32)}\nsandboxReadOnly: [${JSON.stringify(join(ROOT, "test/fixtures"))}]\nagents:\n${agentsYaml}`,
  );
  return loadRunnerConfig(file);
}

/** A stand-in app: `GET /ping` answers PONG, and `GET /api/v1/version` its version when given. */
async function startApp(version?: string): Promise<string> {
  server = createServer((req, res) => {
    if (req.method === "GET" && req.url === "/ping") {
      res.writeHead(200, { "content-type": "text/plain" });
      res.end("PONG");
      return;
    }
    if (req.method === "GET" && req.url === APP_VERSION_PATH && version !== undefined) {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ version }));
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((done) => server?.listen(0, "127.0.0.1", done));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function find(checks: readonly DoctorCheck[], name: string): DoctorCheck | undefined {
  return checks.find((check) => check.name === name);
}

describe("doctor: agent authentication", () => {
  it("the real Claude Code CLI with no log-in and no key: not logged in, and doctor fails", async () => {
    const file = join(dir, "kanbot-runner.yml");
    writeFileSync(
      file,
      `appUrl: http://127.0.0.1:9\nworkDir: ./work\nagents:\n  claude:\n    command: ${CLAUDE}\n`,
    );
    let stdout = "";
    const io = {
      stdout: { write: (text: string) => (stdout += text) },
      stderr: { write: () => 0 },
    };

    const code = await runnerMain(["doctor", "--config", file], io, { env: BASE_ENV });

    expect(stdout).toMatch(/^OK {4}agent claude: .*Claude Code.*runs in the sandbox/m);
    expect(stdout).toMatch(
      /^FAIL {2}agent claude auth: not logged in \(claude auth status: none\): set ANTHROPIC_API_KEY/m,
    );
    expect(stdout).not.toContain("The runner is ready");
    expect(code).toBe(1);
  });

  it("the real Claude Code CLI with ANTHROPIC_API_KEY: logged in, the key itself not checked", async () => {
    const loaded = await configWith(`  claude:\n    command: ${CLAUDE}\n`);

    const checks = await runDoctor({
      loaded,
      env: { ...BASE_ENV, ANTHROPIC_API_KEY: "sk-ant-not-a-real-key" },
      api: acceptingApi,
    });

    expect(find(checks, "agent claude auth")).toEqual({
      name: "agent claude auth",
      status: "ok",
      detail: expect.stringMatching(
        /^logged in \(claude auth status: api_key, ANTHROPIC_API_KEY\); the key itself is not checked: `kanbot-runner doctor --live`/,
      ) as string,
    });
  });

  it.each([
    [
      "codex, nothing stored, no key",
      "codex",
      "",
      {},
      "fail",
      /^no credentials reach it \(codex login status: Not logged in.*set OPENAI_API_KEY/,
    ],
    [
      "codex, nothing stored, OPENAI_API_KEY passed",
      "codex",
      "",
      { OPENAI_API_KEY: "sk-test" },
      "warn",
      /^not verified \(codex login status: Not logged in; it does not look at keys in the environment\); OPENAI_API_KEY is passed to it/,
    ],
    [
      "codex, a stored API key",
      "codex",
      "logged-in",
      {},
      "ok",
      /^API key configured - sk-proj-\*\*\*qrstu \(codex login status\)/,
    ],
    [
      "opencode, no credentials",
      "opencode",
      "",
      {},
      "warn",
      /^no provider credentials \(opencode auth list\): only keyless providers/,
    ],
    [
      "opencode, a key in the environment",
      "opencode",
      "env-key",
      { ANTHROPIC_API_KEY: "sk-ant-x" },
      "ok",
      /^0 stored credentials and 1 provider key in the environment \(opencode auth list\)/,
    ],
    [
      "gemini, no key",
      "gemini",
      "",
      {},
      "fail",
      /^no credentials reach it \(gemini has no auth status command\): set GEMINI_API_KEY/,
    ],
    [
      "gemini, GEMINI_API_KEY passed",
      "gemini",
      "",
      { GEMINI_API_KEY: "AIza-test" },
      "warn",
      /^not verified \(gemini has no auth status command\); GEMINI_API_KEY is passed to it; `kanbot-runner doctor --live`/,
    ],
  ] as const)("%s", async (_title, agent, state, extraEnv, status, detail) => {
    const loaded = await configWith(
      `  ${agent}:\n    command: ${join(bin, agent)}\n    env: { FAKE_STATE: "${state}" }\n`,
    );

    const checks = await runDoctor({
      loaded,
      env: { ...BASE_ENV, ...extraEnv },
      api: acceptingApi,
    });

    expect(find(checks, `agent ${agent}`)?.status).toBe("ok");
    expect(find(checks, `agent ${agent} auth`)).toEqual({
      name: `agent ${agent} auth`,
      status,
      detail: expect.stringMatching(detail) as string,
    });
  });

  it("a command agent is not verified, and no auth line claims otherwise", async () => {
    const loaded = await configWith(`  mine:\n    command: ${join(bin, "hang")}\n`);

    const checks = await runDoctor({ loaded, env: BASE_ENV, api: acceptingApi });

    expect(find(checks, "agent mine auth")).toMatchObject({
      status: "warn",
      detail: expect.stringMatching(
        /^not verified \(a command agent has no auth status command\)/,
      ) as string,
    });
  });
});

describe("doctor --live", () => {
  it("the real Claude Code CLI with no log-in: the live request fails with the CLI's words", async () => {
    const loaded = await configWith(`  claude:\n    command: ${CLAUDE}\n`);

    const checks = await runDoctor({ loaded, env: BASE_ENV, api: acceptingApi, live: true });

    expect(find(checks, "agent claude live")).toMatchObject({
      status: "fail",
      detail: expect.stringMatching(
        /^the request failed after [\d.]+ s: .*Not logged in/,
      ) as string,
    });
  });

  it("runs each agent once through its adapter in the sandbox: an answer is ok, an error fails", async () => {
    const loaded = await configWith(
      [
        `  claude:\n    command: ${join(bin, "claude")}\n    env: { FAKE_OUTPUT: ${JSON.stringify(join(CLAUDE_FIXTURES, "success.jsonl"))} }\n`,
        `  codex:\n    command: ${join(bin, "codex")}\n    env: { FAKE_STATE: logged-in, FAKE_OUTPUT: ${JSON.stringify(join(CODEX_FIXTURES, "turn-failed.jsonl"))}, FAKE_EXIT: "1" }\n`,
      ].join(""),
    );

    const checks = await runDoctor({ loaded, env: BASE_ENV, api: acceptingApi, live: true });

    expect(find(checks, "agent claude live")).toMatchObject({
      status: "ok",
      detail: expect.stringMatching(
        /^answered in [\d.]+ s, \$0\.0842: "I changed `parse`/,
      ) as string,
    });
    expect(find(checks, "agent codex live")).toMatchObject({
      status: "fail",
      detail: expect.stringMatching(
        /^the request failed after [\d.]+ s: .*stream disconnected before completion/,
      ) as string,
    });
  });

  it("an agent that never answers is stopped at the live time limit and fails", async () => {
    const loaded = await configWith(`  hang:\n    command: ${join(bin, "hang")}\n`);

    const checks = await runDoctor({
      loaded,
      env: BASE_ENV,
      api: acceptingApi,
      live: true,
      liveTimeoutMs: 1_000,
    });

    expect(find(checks, "agent hang live")).toMatchObject({
      status: "fail",
      detail: expect.stringMatching(/^no result within 1 s: the CLI was still trying/) as string,
    });
  });

  it("without --live no agent is run on a prompt", async () => {
    const loaded = await configWith(`  hang:\n    command: ${join(bin, "hang")}\n`);

    const checks = await runDoctor({ loaded, env: BASE_ENV, api: acceptingApi });

    expect(checks.map((check) => check.name)).not.toContain("agent hang live");
  });
});

describe("doctor: the app", () => {
  it("reports the app reachable and its version when it says it", async () => {
    const appUrl = await startApp(packageInfo().version);
    const loaded = await configWith(`  hang:\n    command: ${join(bin, "hang")}\n`, appUrl);

    const checks = await runDoctor({ loaded, env: BASE_ENV, api: acceptingApi });

    expect(find(checks, "app")).toEqual({
      name: "app",
      status: "ok",
      detail: `${appUrl} answers GET /ping and accepts this runner's token`,
    });
    expect(find(checks, "app version")).toEqual({
      name: "app version",
      status: "ok",
      detail: `${packageInfo().version}, the same as the runner`,
    });
  });

  it("says the version is not available when the app does not say it, and warns on a mismatch", async () => {
    const silent = await startApp();
    const loaded = await configWith(`  hang:\n    command: ${join(bin, "hang")}\n`, silent);

    const checks = await runDoctor({ loaded, env: BASE_ENV, api: acceptingApi });

    expect(find(checks, "app version")).toMatchObject({
      status: "warn",
      detail: expect.stringMatching(/^not available: this app does not say its version/) as string,
    });

    await new Promise((done) => server?.close(done));
    const older = await startApp("0.0.1");
    const loadedOlder = await configWith(`  hang:\n    command: ${join(bin, "hang")}\n`, older);

    const mismatch = await runDoctor({ loaded: loadedOlder, env: BASE_ENV, api: acceptingApi });

    expect(find(mismatch, "app version")).toMatchObject({
      status: "warn",
      detail: `the app is 0.0.1, the runner ${packageInfo().version}: upgrade the older one (npm install -g kanbot@<version>)`,
    });
  });

  it("fails when the app does not answer, and the summary says so", async () => {
    const loaded = await configWith(`  hang:\n    command: ${join(bin, "hang")}\n`);

    const checks = await runDoctor({ loaded, env: BASE_ENV });
    const text = formatDoctor(checks);

    expect(find(checks, "app")?.status).toBe("fail");
    expect(text).toMatch(/^FAIL {2}app: cannot reach the kanbot app at http:\/\/127\.0\.0\.1:9/m);
    expect(text).toMatch(/checks? failed; fix (it|them) before kanbot-runner start\.\n$/);
  });
});
