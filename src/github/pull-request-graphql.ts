/**
 * The GraphQL documents of the pull-request port (./octokit-pull-request-port.ts), one named
 * constant each, written out in full (no interpolation) so each can be validated against
 * GitHub's published schema, as ./graphql.ts does for the board.
 *
 * Only what REST cannot do goes through GraphQL: marking a draft ready for review (REST has no
 * way to clear `draft`), turning a PR back into a draft, and enabling auto-merge.
 */

/** Marks a draft pull request ready for review (REST cannot clear `draft`). */
export const MARK_PULL_REQUEST_READY = /* GraphQL */ `
  mutation MarkPullRequestReady($pullRequestId: ID!) {
    markPullRequestReadyForReview(input: { pullRequestId: $pullRequestId }) {
      pullRequest {
        id
        isDraft
      }
    }
  }
`;

/** Turns a pull request back into a draft (a new push re-opens the checks gate). */
export const CONVERT_PULL_REQUEST_TO_DRAFT = /* GraphQL */ `
  mutation ConvertPullRequestToDraft($pullRequestId: ID!) {
    convertPullRequestToDraft(input: { pullRequestId: $pullRequestId }) {
      pullRequest {
        id
        isDraft
      }
    }
  }
`;

/**
 * Enables auto-merge with a merge method; GitHub merges once the branch's requirements are met.
 * GitHub refuses it (a GraphQL error) when the repository does not allow auto-merge or the PR is
 * already mergeable ("clean status").
 */
export const ENABLE_PULL_REQUEST_AUTO_MERGE = /* GraphQL */ `
  mutation EnablePullRequestAutoMerge(
    $pullRequestId: ID!
    $mergeMethod: PullRequestMergeMethod!
    $expectedHeadOid: GitObjectID
  ) {
    enablePullRequestAutoMerge(
      input: {
        pullRequestId: $pullRequestId
        mergeMethod: $mergeMethod
        expectedHeadOid: $expectedHeadOid
      }
    ) {
      pullRequest {
        id
        autoMergeRequest {
          enabledAt
          mergeMethod
        }
      }
    }
  }
`;

/** Every document above, by operation name, for the contract test and the docs. */
export const PULL_REQUEST_GRAPHQL_DOCUMENTS = {
  MarkPullRequestReady: MARK_PULL_REQUEST_READY,
  ConvertPullRequestToDraft: CONVERT_PULL_REQUEST_TO_DRAFT,
  EnablePullRequestAutoMerge: ENABLE_PULL_REQUEST_AUTO_MERGE,
} as const satisfies Record<string, string>;
