/**
 * Every GraphQL document kanbot sends to GitHub, one named constant each. Documents are plain
 * string literals (no interpolation), so `test/unit/graphql-documents.test.ts` can validate each
 * against GitHub's published schema; a document written anywhere else in `src/` fails that test.
 *
 * Projects v2 (the board) goes through GraphQL: GitHub has no REST API for organisation
 * projects' items and fields that works for GitHub Apps on every GitHub version kanbot supports.
 * The issue's view (labels, card, comment) goes through GraphQL too, as one request per change
 * (`WriteIssueView`).
 */

/**
 * An organisation's Projects v2 project by number, with its single-select fields and their
 * options (Status, Priority…). GitHub allows at most 50 fields per project, so one page is all.
 */
export const FIND_PROJECT = /* GraphQL */ `
  query FindProject($owner: String!, $number: Int!) {
    organization(login: $owner) {
      login
      projectV2(number: $number) {
        id
        number
        title
        fields(first: 50) {
          nodes {
            ... on ProjectV2SingleSelectField {
              id
              name
              options {
                id
                name
              }
            }
          }
        }
      }
    }
  }
`;

/**
 * The project items of an issue (one per project it is on), with their single-select values,
 * a page of 50 at a time.
 */
export const ISSUE_PROJECT_ITEMS = /* GraphQL */ `
  query IssueProjectItems($issueId: ID!, $after: String) {
    node(id: $issueId) {
      ... on Issue {
        projectItems(first: 50, after: $after) {
          pageInfo {
            hasNextPage
            endCursor
          }
          nodes {
            id
            project {
              id
            }
            fieldValues(first: 50) {
              nodes {
                ... on ProjectV2ItemFieldSingleSelectValue {
                  name
                  field {
                    ... on ProjectV2SingleSelectField {
                      name
                    }
                  }
                }
              }
            }
          }
        }
      }
    }
  }
`;

/**
 * Adds an issue to a project. GitHub answers with the existing item when the issue is on the
 * project already, so the call is idempotent.
 */
export const ADD_PROJECT_ITEM = /* GraphQL */ `
  mutation AddProjectItem($projectId: ID!, $contentId: ID!) {
    addProjectV2ItemById(input: { projectId: $projectId, contentId: $contentId }) {
      item {
        id
        fieldValues(first: 50) {
          nodes {
            ... on ProjectV2ItemFieldSingleSelectValue {
              name
              field {
                ... on ProjectV2SingleSelectField {
                  name
                }
              }
            }
          }
        }
      }
    }
  }
`;

/** Sets a single-select field (the board's Status column) of one item. */
export const SET_SINGLE_SELECT = /* GraphQL */ `
  mutation SetSingleSelect($projectId: ID!, $itemId: ID!, $fieldId: ID!, $optionId: String!) {
    updateProjectV2ItemFieldValue(
      input: {
        projectId: $projectId
        itemId: $itemId
        fieldId: $fieldId
        value: { singleSelectOptionId: $optionId }
      }
    ) {
      projectV2Item {
        id
      }
    }
  }
`;

/**
 * The issue's view in one request (issue 15): its state labels, its card's column and its
 * progress comment, each an aliased mutation that runs only when its `$with…` flag is true (a
 * skipped field is not executed; its variables are still sent, as empty values). GitHub's
 * secondary limit counts content-generating *requests*, so the whole view change costs one, where
 * the REST calls cost one per label, one for the card and one for the comment. The mutations run
 * in document order: labels out, labels in, the card, the comment. Only the labels named are
 * added or removed, so a label a person added meanwhile stays (a REST `PUT …/labels` would drop it).
 */
export const WRITE_ISSUE_VIEW = /* GraphQL */ `
  mutation WriteIssueView(
    $issueId: ID!
    $withRemoveLabels: Boolean!
    $removeLabelIds: [ID!]!
    $withAddLabels: Boolean!
    $addLabelIds: [ID!]!
    $withCard: Boolean!
    $projectId: ID!
    $itemId: ID!
    $fieldId: ID!
    $optionId: String!
    $withComment: Boolean!
    $commentId: ID!
    $body: String!
  ) {
    removeLabels: removeLabelsFromLabelable(
      input: { labelableId: $issueId, labelIds: $removeLabelIds }
    ) @include(if: $withRemoveLabels) {
      clientMutationId
    }
    addLabels: addLabelsToLabelable(input: { labelableId: $issueId, labelIds: $addLabelIds })
      @include(if: $withAddLabels) {
      clientMutationId
    }
    card: updateProjectV2ItemFieldValue(
      input: {
        projectId: $projectId
        itemId: $itemId
        fieldId: $fieldId
        value: { singleSelectOptionId: $optionId }
      }
    ) @include(if: $withCard) {
      projectV2Item {
        id
      }
    }
    comment: updateIssueComment(input: { id: $commentId, body: $body }) @include(if: $withComment) {
      issueComment {
        id
      }
    }
  }
`;

/**
 * What a `projects_v2_item` event's item is: its project (owner login and number), its content
 * (an issue, or a draft issue / pull request kanbot ignores) and its single-select values.
 */
export const RESOLVE_PROJECT_ITEM = /* GraphQL */ `
  query ResolveProjectItem($itemId: ID!) {
    node(id: $itemId) {
      ... on ProjectV2Item {
        id
        project {
          number
          owner {
            ... on Organization {
              login
            }
            ... on User {
              login
            }
          }
        }
        content {
          ... on Issue {
            number
            repository {
              name
              owner {
                login
              }
            }
          }
        }
        fieldValues(first: 50) {
          nodes {
            ... on ProjectV2ItemFieldSingleSelectValue {
              name
              field {
                ... on ProjectV2SingleSelectField {
                  name
                }
              }
            }
          }
        }
      }
    }
  }
`;

/** Every document above, by operation name, for the contract test and the docs. */
export const GRAPHQL_DOCUMENTS = {
  FindProject: FIND_PROJECT,
  IssueProjectItems: ISSUE_PROJECT_ITEMS,
  AddProjectItem: ADD_PROJECT_ITEM,
  SetSingleSelect: SET_SINGLE_SELECT,
  WriteIssueView: WRITE_ISSUE_VIEW,
  ResolveProjectItem: RESOLVE_PROJECT_ITEM,
} as const satisfies Record<string, string>;
