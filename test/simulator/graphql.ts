/**
 * GraphQL at `/api/graphql`: each document is validated against GitHub's published schema
 * (`@octokit/graphql-schema`, variables included) and executed with graphql-js against that same
 * schema, over plain objects built from the simulator's state. Objects carry `__typename` so
 * unions and interfaces (`node`, `content`, `fieldValues`) resolve; fields are values or
 * functions of their arguments, which graphql-js's default resolver calls. Only the types and
 * fields kanbot asks for (and a few tests use) are backed; anything else resolves to null, and a
 * non-null field left unbacked is a GraphQL error, so a gap shows instead of passing silently.
 */
import { graphql, GraphQLError, type ExecutionResult, type GraphQLTypeResolver } from "graphql";

import {
  formatGraphQLErrors,
  githubGraphQLSchema,
  validateGraphQL,
} from "../helpers/github-graphql.js";
import { GitHubRefusal, type SimGitHub } from "./github.js";
import type { Violation } from "./rest.js";
import {
  fullName,
  type SimComment,
  type SimIssue,
  type SimLabel,
  type SimProject,
  type SimProjectField,
  type SimProjectItem,
  type SimRepo,
  type SimToken,
} from "./state.js";

export interface GraphQLRequestBody {
  query?: unknown;
  variables?: unknown;
  operationName?: unknown;
}

type Resolved = Record<string, unknown>;

interface ConnectionArgs {
  first?: number;
  after?: string | null;
}

function connection<T>(items: readonly T[], args: ConnectionArgs, map: (item: T) => unknown) {
  const start =
    args.after === undefined || args.after === null
      ? 0
      : Number(Buffer.from(args.after, "base64").toString("utf8").replace("cursor:", "")) + 1;
  const count = Math.min(args.first ?? 100, 100);
  const slice = items.slice(start, start + count);
  const cursor = (index: number) => Buffer.from(`cursor:${index}`).toString("base64");
  const nodes = slice.map(map);
  return {
    totalCount: items.length,
    nodes,
    edges: nodes.map((node, i) => ({ node, cursor: cursor(start + i) })),
    pageInfo: {
      hasNextPage: start + count < items.length,
      hasPreviousPage: start > 0,
      startCursor: slice.length === 0 ? null : cursor(start),
      endCursor: slice.length === 0 ? null : cursor(start + slice.length - 1),
    },
  };
}

function refusal(message: string, type: string): GraphQLError {
  return new GraphQLError(message, { extensions: { type } });
}

const typeResolver: GraphQLTypeResolver<unknown, unknown> = (value) =>
  typeof value === "object" && value !== null
    ? String((value as { __typename?: unknown }).__typename)
    : undefined;

export class GraphQLApi {
  constructor(
    readonly github: SimGitHub,
    readonly record: (violation: Violation) => void,
    readonly log: (facts: Record<string, unknown>, message: string) => void,
  ) {}

  /** Answers one POST /api/graphql as GitHub does (200 with `data` and/or `errors`). */
  async handle(
    body: GraphQLRequestBody,
    token: SimToken,
  ): Promise<ExecutionResult | { errors: unknown[] }> {
    const query = typeof body.query === "string" ? body.query : "";
    const variables =
      typeof body.variables === "object" && body.variables !== null
        ? (body.variables as Record<string, unknown>)
        : {};
    const operationName = typeof body.operationName === "string" ? body.operationName : undefined;
    const invalid = validateGraphQL(query, { variables, operationName });
    if (invalid.length > 0) {
      this.record({
        kind: "invalid-graphql",
        method: "POST",
        path: "/api/graphql",
        details: [formatGraphQLErrors(invalid), query],
      });
      this.log(
        { errors: formatGraphQLErrors(invalid) },
        "GRAPHQL DOCUMENT NOT VALID AGAINST GITHUB'S SCHEMA",
      );
      return {
        errors: invalid.map((error) => ({ message: error.message, locations: error.locations })),
      };
    }
    const result = await graphql({
      schema: githubGraphQLSchema(),
      source: query,
      rootValue: this.#root(token),
      variableValues: variables,
      operationName: operationName ?? null,
      typeResolver,
    });
    if (result.errors === undefined) return result;
    return {
      ...(result.data === undefined ? {} : { data: result.data }),
      errors: result.errors.map((error) => ({
        type: error.extensions.type ?? "INTERNAL",
        path: error.path,
        locations: error.locations,
        message: error.message,
      })),
    };
  }

  #canReachProjects(token: SimToken): boolean {
    return token.kind === "user" || token.permissions.organization_projects !== undefined;
  }

  #canSeeRepo(token: SimToken, repo: SimRepo): boolean {
    if (token.kind === "user")
      return !repo.private || this.github.state.permissionOf(repo, token.login) !== undefined;
    const installation = this.github.state.installationFor(repo);
    return (
      installation?.id === token.installationId &&
      (token.repositories === undefined || token.repositories.has(fullName(repo).toLowerCase()))
    );
  }

  #root(token: SimToken): Resolved {
    const gh = this.github;
    const state = gh.state;
    const needProjects = () => {
      if (!this.#canReachProjects(token))
        throw refusal("Resource not accessible by integration", "FORBIDDEN");
    };
    const mutate = <T>(run: () => T): T => {
      try {
        return run();
      } catch (error) {
        if (error instanceof GitHubRefusal) throw refusal(error.message, "UNPROCESSABLE");
        throw error;
      }
    };
    return {
      organization: ({ login }: { login: string }) => {
        const account = state.accounts.get(login.toLowerCase());
        if (account?.type !== "Organization") {
          throw refusal(
            `Could not resolve to an Organization with the login of '${login}'.`,
            "NOT_FOUND",
          );
        }
        return this.#organization(login, token);
      },
      repository: ({ owner, name }: { owner: string; name: string }) => {
        const repo = state.repo(owner, name);
        if (repo === undefined || !this.#canSeeRepo(token, repo)) {
          throw refusal(
            `Could not resolve to a Repository with the name '${owner}/${name}'.`,
            "NOT_FOUND",
          );
        }
        return this.#repository(repo, token);
      },
      node: ({ id }: { id: string }) => {
        const target = state.nodes.get(id);
        if (target === undefined)
          throw refusal(`Could not resolve to a node with the global id of '${id}'`, "NOT_FOUND");
        switch (target.kind) {
          case "issue":
          case "pull": {
            if (!this.#canSeeRepo(token, target.repo)) {
              throw refusal(
                `Could not resolve to a node with the global id of '${id}'`,
                "NOT_FOUND",
              );
            }
            return this.#content(target.repo, state.mustIssue(target.repo, target.number), token);
          }
          case "item":
            needProjects();
            return this.#item(target.project, target.item, token);
          case "project":
            needProjects();
            return this.#project(target.project, token);
          case "field":
            needProjects();
            return this.#field(target.field);
          case "repository":
            return this.#canSeeRepo(token, target.repo)
              ? this.#repository(target.repo, token)
              : null;
          case "account":
            return this.#account(target.account.login);
          case "label":
            return this.#canSeeRepo(token, target.repo) ? this.#label(target.label) : null;
          case "comment": {
            const found = gh.findComment(target.repo, target.commentId);
            return found === undefined || !this.#canSeeRepo(token, target.repo)
              ? null
              : this.#comment(target.repo, found.comment);
          }
        }
      },
      // The issue's view (kanbot's `WriteIssueView`): the same state changes, events and
      // webhooks as the REST calls (`issues.labeled`/`unlabeled`, `issue_comment.edited`).
      addLabelsToLabelable: async ({
        input,
      }: {
        input: { labelableId: string; labelIds: string[]; clientMutationId?: string };
      }) => {
        const { repo, issue } = this.#labelable(input.labelableId, token);
        const labels = input.labelIds.map((id) => this.#labelOf(repo, id).name);
        await gh.addLabels(token.login, repo, issue.number, labels);
        return {
          clientMutationId: input.clientMutationId ?? null,
          labelable: this.#content(repo, state.mustIssue(repo, issue.number), token),
        };
      },
      removeLabelsFromLabelable: async ({
        input,
      }: {
        input: { labelableId: string; labelIds: string[]; clientMutationId?: string };
      }) => {
        const { repo, issue } = this.#labelable(input.labelableId, token);
        for (const id of input.labelIds) {
          const label = this.#labelOf(repo, id);
          // A label the issue does not carry is left out, as GitHub does (no error).
          if (!issue.labels.some((have) => have.toLowerCase() === label.name.toLowerCase()))
            continue;
          await gh.removeLabel(token.login, repo, issue.number, label.name);
        }
        return {
          clientMutationId: input.clientMutationId ?? null,
          labelable: this.#content(repo, state.mustIssue(repo, issue.number), token),
        };
      },
      updateIssueComment: ({
        input,
      }: {
        input: { id: string; body: string; clientMutationId?: string };
      }) => {
        const target = state.nodes.get(input.id);
        const found =
          target?.kind === "comment" && this.#canSeeRepo(token, target.repo)
            ? gh.findComment(target.repo, target.commentId)
            : undefined;
        if (target?.kind !== "comment" || found === undefined)
          throw refusal(
            `Could not resolve to a node with the global id of '${input.id}'`,
            "NOT_FOUND",
          );
        this.#needIssueWrite(token, target.repo, found.comment.author);
        const comment = mutate(() =>
          gh.updateComment(token.login, target.repo, target.commentId, input.body),
        );
        return {
          clientMutationId: input.clientMutationId ?? null,
          issueComment: this.#comment(target.repo, comment),
        };
      },
      addProjectV2ItemById: ({
        input,
      }: {
        input: { projectId: string; contentId: string; clientMutationId?: string };
      }) => {
        needProjects();
        const project = this.#projectById(input.projectId);
        const item = mutate(() => gh.addProjectItem(token.login, project, input.contentId));
        return {
          clientMutationId: input.clientMutationId ?? null,
          item: this.#item(project, item, token),
        };
      },
      updateProjectV2ItemFieldValue: ({
        input,
      }: {
        input: {
          projectId: string;
          itemId: string;
          fieldId: string;
          value: { singleSelectOptionId?: string };
          clientMutationId?: string;
        };
      }) => {
        needProjects();
        const project = this.#projectById(input.projectId);
        const item = project.items.find((candidate) => candidate.id === input.itemId);
        if (item === undefined)
          throw refusal(
            `Could not resolve to a node with the global id of '${input.itemId}'`,
            "NOT_FOUND",
          );
        const optionId = input.value.singleSelectOptionId;
        if (optionId === undefined)
          throw refusal("Only single-select values are simulated", "UNPROCESSABLE");
        mutate(() => gh.setProjectValue(token.login, project, item, input.fieldId, optionId));
        return {
          clientMutationId: input.clientMutationId ?? null,
          projectV2Item: this.#item(project, item, token),
        };
      },
      markPullRequestReadyForReview: async ({
        input,
      }: {
        input: { pullRequestId: string; clientMutationId?: string };
      }) => {
        const { repo, pull } = this.#pull(input.pullRequestId, token);
        await gh.setDraft(token.login, repo, pull, false).catch((error: unknown) => {
          throw error instanceof GitHubRefusal ? refusal(error.message, "UNPROCESSABLE") : error;
        });
        return {
          clientMutationId: input.clientMutationId ?? null,
          pullRequest: this.#content(repo, state.mustIssue(repo, pull.number), token),
        };
      },
      convertPullRequestToDraft: async ({
        input,
      }: {
        input: { pullRequestId: string; clientMutationId?: string };
      }) => {
        const { repo, pull } = this.#pull(input.pullRequestId, token);
        await gh.setDraft(token.login, repo, pull, true).catch((error: unknown) => {
          throw error instanceof GitHubRefusal ? refusal(error.message, "UNPROCESSABLE") : error;
        });
        return {
          clientMutationId: input.clientMutationId ?? null,
          pullRequest: this.#content(repo, state.mustIssue(repo, pull.number), token),
        };
      },
      enablePullRequestAutoMerge: ({ input }: { input: { pullRequestId: string } }) => {
        this.#pull(input.pullRequestId, token);
        // Auto-merge is not simulated: GitHub's answer for a repository that does not allow it.
        throw refusal(
          "Pull request Auto merge is not allowed for this repository",
          "UNPROCESSABLE",
        );
      },
    };
  }

  /** The issue or pull request a labelable id names, when the token may write its labels. */
  #labelable(nodeId: string, token: SimToken): { repo: SimRepo; issue: SimIssue } {
    const found = this.github.state.content(nodeId);
    if (found === undefined || !this.#canSeeRepo(token, found.repo)) {
      throw refusal(`Could not resolve to a node with the global id of '${nodeId}'`, "NOT_FOUND");
    }
    this.#needIssueWrite(token, found.repo, undefined);
    return found;
  }

  /** Installation tokens need `issues: write`; people triage (or to be the comment's author). */
  #needIssueWrite(token: SimToken, repo: SimRepo, author: string | undefined): void {
    if (token.kind === "user") {
      if (author !== undefined && author.toLowerCase() === token.login.toLowerCase()) return;
      const permission = this.github.state.permissionOf(repo, token.login);
      if (permission === undefined || permission === "read")
        throw refusal("Resource not accessible by user", "FORBIDDEN");
      return;
    }
    if (token.permissions.issues !== "write")
      throw refusal("Resource not accessible by integration", "FORBIDDEN");
  }

  #labelOf(repo: SimRepo, nodeId: string): SimLabel {
    const target = this.github.state.nodes.get(nodeId);
    if (target?.kind !== "label" || target.repo !== repo) {
      throw refusal(`Could not resolve to a node with the global id of '${nodeId}'`, "NOT_FOUND");
    }
    return target.label;
  }

  #label(label: SimLabel): Resolved {
    return {
      __typename: "Label",
      id: label.nodeId,
      name: label.name,
      color: label.color,
      description: label.description,
    };
  }

  #comment(repo: SimRepo, comment: SimComment): Resolved {
    return {
      __typename: "IssueComment",
      id: comment.nodeId,
      databaseId: comment.id,
      body: comment.body,
      author: this.#account(comment.author),
      url: `${this.github.shapes.urls.web}/${fullName(repo)}/issues/${comment.issueNumber}#issuecomment-${comment.id}`,
    };
  }

  #pull(nodeId: string, token: SimToken) {
    const target = this.github.state.nodes.get(nodeId);
    if (target?.kind !== "pull" || !this.#canSeeRepo(token, target.repo)) {
      throw refusal(`Could not resolve to a node with the global id of '${nodeId}'`, "NOT_FOUND");
    }
    return { repo: target.repo, pull: this.github.state.mustPull(target.repo, target.number) };
  }

  #projectById(id: string): SimProject {
    const target = this.github.state.nodes.get(id);
    if (target?.kind !== "project")
      throw refusal(`Could not resolve to a node with the global id of '${id}'`, "NOT_FOUND");
    return target.project;
  }

  #account(login: string): Resolved {
    const account = this.github.state.account(login);
    return {
      __typename:
        account.type === "Organization" ? "Organization" : account.type === "Bot" ? "Bot" : "User",
      id: account.nodeId,
      databaseId: account.id,
      login: account.login,
    };
  }

  #organization(login: string, token: SimToken): Resolved {
    return {
      ...this.#account(login),
      projectV2: ({ number }: { number: number }) => {
        if (!this.#canReachProjects(token))
          throw refusal("Resource not accessible by integration", "FORBIDDEN");
        const project = this.github.state.project(login, number);
        if (project === undefined)
          throw refusal(`Could not resolve to a ProjectV2 with the number ${number}.`, "NOT_FOUND");
        return this.#project(project, token);
      },
    };
  }

  #repository(repo: SimRepo, token: SimToken): Resolved {
    return {
      __typename: "Repository",
      id: repo.nodeId,
      databaseId: repo.id,
      name: repo.name,
      nameWithOwner: fullName(repo),
      owner: this.#account(repo.owner),
      issue: ({ number }: { number: number }) => {
        const issue = repo.issues.get(number);
        return issue === undefined || issue.pullRequest ? null : this.#content(repo, issue, token);
      },
      pullRequest: ({ number }: { number: number }) => {
        const issue = repo.issues.get(number);
        return issue?.pullRequest === true ? this.#content(repo, issue, token) : null;
      },
    };
  }

  #content(repo: SimRepo, issue: SimIssue, token: SimToken): Resolved {
    const pull = repo.pulls.get(issue.number);
    const items = () =>
      this.github.state.projects.flatMap((project) =>
        project.items
          .filter((item) => item.contentNodeId === issue.nodeId)
          .map((item) => ({ project, item })),
      );
    return {
      __typename: issue.pullRequest ? "PullRequest" : "Issue",
      id: issue.nodeId,
      databaseId: issue.id,
      number: issue.number,
      title: issue.title,
      body: issue.body ?? "",
      state: pull?.merged === true ? "MERGED" : issue.state.toUpperCase(),
      closed: issue.state === "closed",
      url: `${this.github.shapes.urls.web}/${fullName(repo)}/${issue.pullRequest ? "pull" : "issues"}/${issue.number}`,
      repository: this.#repository(repo, token),
      projectItems: (args: ConnectionArgs) => {
        if (!this.#canReachProjects(token))
          throw refusal("Resource not accessible by integration", "FORBIDDEN");
        return connection(items(), args, ({ project, item }) => this.#item(project, item, token));
      },
      ...(pull === undefined
        ? {}
        : {
            isDraft: pull.draft,
            merged: pull.merged,
            headRefName: pull.head,
            baseRefName: pull.base,
            headRefOid: pull.headSha,
            autoMergeRequest: null,
          }),
    };
  }

  #project(project: SimProject, token: SimToken): Resolved {
    return {
      __typename: "ProjectV2",
      id: project.id,
      databaseId: project.databaseId,
      number: project.number,
      title: project.title,
      closed: false,
      public: false,
      url: `${this.github.shapes.urls.web}/orgs/${project.owner}/projects/${project.number}`,
      owner: this.#account(project.owner),
      fields: (args: ConnectionArgs) =>
        connection([undefined, ...project.fields], args, (field) =>
          field === undefined ? this.#titleField(project) : this.#field(field),
        ),
      field: ({ name }: { name: string }) => {
        const field = project.fields.find((candidate) => candidate.name === name);
        return field === undefined ? null : this.#field(field);
      },
      items: (args: ConnectionArgs) =>
        connection(project.items, args, (item) => this.#item(project, item, token)),
    };
  }

  /** Every project has a Title field GitHub adds itself. */
  #titleField(project: SimProject): Resolved {
    return {
      __typename: "ProjectV2Field",
      id: `PVTF_title_${project.databaseId}`,
      name: "Title",
      dataType: "TITLE",
    };
  }

  #field(field: SimProjectField): Resolved {
    return {
      __typename: "ProjectV2SingleSelectField",
      id: field.id,
      name: field.name,
      dataType: "SINGLE_SELECT",
      options: field.options.map((option) => ({
        id: option.id,
        name: option.name,
        nameHTML: option.name,
        color: "GRAY",
        description: "",
        descriptionHTML: "",
      })),
    };
  }

  #item(project: SimProject, item: SimProjectItem, token: SimToken): Resolved {
    const content = this.github.state.content(item.contentNodeId);
    const values = () => [
      {
        __typename: "ProjectV2ItemFieldTextValue",
        text: content?.issue.title ?? "",
        field: this.#titleField(project),
      },
      ...project.fields.flatMap((field) => {
        const option = field.options.find(
          (candidate) => candidate.id === item.values.get(field.id),
        );
        return option === undefined
          ? []
          : [
              {
                __typename: "ProjectV2ItemFieldSingleSelectValue",
                id: `PVTFSV_${item.databaseId}_${field.id}`,
                name: option.name,
                optionId: option.id,
                field: this.#field(field),
              },
            ];
      }),
    ];
    return {
      __typename: "ProjectV2Item",
      id: item.id,
      databaseId: item.databaseId,
      type: content?.issue.pullRequest === true ? "PULL_REQUEST" : "ISSUE",
      isArchived: false,
      project: () => this.#project(project, token),
      content: () =>
        content === undefined ? null : this.#content(content.repo, content.issue, token),
      fieldValues: (args: ConnectionArgs) => connection(values(), args, (value) => value),
      fieldValueByName: ({ name }: { name: string }) =>
        values().find((value) => (value.field as { name?: unknown }).name === name) ?? null,
    };
  }
}
