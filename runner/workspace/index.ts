export { createWorkspaces, cloneUrlOf } from "./workspaces.js";
export type {
  FinishOptions,
  FinishResult,
  JobOutcome,
  PrepareOptions,
  RepoRef,
  SetupOptions,
  SetupResult,
  StartFrom,
  SweepOptions,
  SweepResult,
  Workspace,
  Workspaces,
  WorkspacesOptions,
} from "./workspaces.js";
export { isValidBranchName } from "./branch-name.js";
export { ForbiddenPathsError, GitError, WorkspaceError } from "./errors.js";
export type { GitFailureKind } from "./errors.js";
export { DEFAULT_IDENTITY, gitAuthEnv, gitEnv, identityEnv } from "./git.js";
export type { GitEnvOptions, GitIdentity } from "./git.js";
export { matchesGlob, pathsMatching } from "./glob.js";
