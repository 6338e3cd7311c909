/**
 * A Linear GraphQL stand-in on 127.0.0.1 for the real @linear/sdk client. It
 * answers the operations ringmaster uses (issue, issues, team, teams,
 * workflowState(s), issueLabels, issueCreate, issueUpdate, attachmentLinkURL)
 * by their root field, in the shapes of Linear's public schema, and records
 * every operation.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeIssue {
  id: string;
  identifier: string;
  title: string;
  description: string;
  branchName: string;
  stateId: string;
  teamId: string;
  labels: string[];
  attachments: string[];
}

export interface LinearServer {
  url: string;
  operations: Array<{ field: string; variables: Record<string, unknown> }>;
  issues: FakeIssue[];
  states: Array<{ id: string; name: string; teamId: string; type: string }>;
  teams: Array<{ id: string; key: string; name: string }>;
  labels: Array<{ id: string; name: string }>;
  close(): Promise<void>;
}

const page = (nodes: unknown[]) => ({ nodes, pageInfo: { hasNextPage: false, hasPreviousPage: false, startCursor: null, endCursor: null } });

export async function startLinearServer(apiKey: string): Promise<LinearServer> {
  const state: LinearServer = {
    url: '',
    operations: [],
    issues: [],
    teams: [{ id: 'team-eng', key: 'ENG', name: 'Engineering' }],
    states: [
      { id: 'state-todo', name: 'Todo', teamId: 'team-eng', type: 'unstarted' },
      { id: 'state-review', name: 'In Review', teamId: 'team-eng', type: 'started' },
    ],
    labels: [{ id: 'label-bug', name: 'bug' }],
    close: async () => undefined,
  };
  const issueJson = (issue: FakeIssue) => ({
    __typename: 'Issue',
    id: issue.id,
    identifier: issue.identifier,
    number: Number(issue.identifier.split('-')[1]),
    title: issue.title,
    description: issue.description,
    url: `https://linear.app/acme/issue/${issue.identifier.toLowerCase()}`,
    branchName: issue.branchName,
    priority: 0,
    createdAt: '2026-11-20T10:00:00.000Z',
    updatedAt: '2026-11-21T10:00:00.000Z',
    state: { id: issue.stateId },
    team: { id: issue.teamId },
    reactions: [],
    sharedAccess: { isShared: false, sharedWithCount: 0, viewerHasOnlySharedAccess: false, disallowedIssueFields: [], sharedWithUsers: [] },
  });
  const find = (id: unknown) => state.issues.find((issue) => issue.id === id || issue.identifier === id);
  const server = http.createServer((request, response) => {
    let raw = '';
    request.on('data', (chunk: Buffer) => (raw += chunk.toString()));
    request.on('end', () => {
      const send = (status: number, body: unknown) => {
        response.writeHead(status, { 'content-type': 'application/json' });
        response.end(JSON.stringify(body));
      };
      if (request.headers.authorization !== apiKey) {
        return send(401, { errors: [{ message: 'Authentication required, not authenticated', extensions: { type: 'authentication error', code: 'AUTHENTICATION_ERROR', userPresentableMessage: 'You need to authenticate.' } }] });
      }
      const { query, variables = {} } = JSON.parse(raw) as { query: string; variables?: Record<string, any> };
      const field = /^\s*(?:query|mutation)\b[^{]*\{\s*(\w+)/.exec(query)?.[1] ?? '';
      state.operations.push({ field, variables });
      const notFound = () => send(200, { data: null, errors: [{ message: 'Entity not found', extensions: { type: 'invalid input', code: 'INPUT_ERROR', userPresentableMessage: 'Could not find referenced Issue.' } }] });
      switch (field) {
        case 'issue': {
          const issue = find(variables.id);
          return issue ? send(200, { data: { issue: issueJson(issue) } }) : notFound();
        }
        case 'issues': {
          const filter = variables.filter ?? {};
          const nodes = state.issues.filter((issue) => {
            if (filter.team?.key?.eq && state.teams.find((team) => team.id === issue.teamId)?.key !== filter.team.key.eq) return false;
            if (filter.state?.name?.in && !filter.state.name.in.includes(state.states.find((s) => s.id === issue.stateId)?.name)) return false;
            if (filter.labels?.name?.in && !issue.labels.some((label) => filter.labels.name.in.includes(label))) return false;
            return true;
          });
          return send(200, { data: { issues: page(nodes.map(issueJson)) } });
        }
        case 'workflowState': {
          const found = state.states.find((s) => s.id === variables.id);
          return found ? send(200, { data: { workflowState: { __typename: 'WorkflowState', ...found, team: { id: found.teamId }, position: 1, color: '#000' } } }) : notFound();
        }
        case 'workflowStates': {
          const filter = variables.filter ?? {};
          const nodes = state.states.filter((s) => (!filter.team?.id?.eq || s.teamId === filter.team.id.eq) && (!filter.name?.eqIgnoreCase || s.name.toLowerCase() === String(filter.name.eqIgnoreCase).toLowerCase()));
          return send(200, { data: { workflowStates: page(nodes.map((s) => ({ ...s, team: { id: s.teamId } }))) } });
        }
        case 'team': {
          const team = state.teams.find((t) => t.id === variables.id);
          return team ? send(200, { data: { team } }) : notFound();
        }
        case 'teams':
          return send(200, { data: { teams: page(state.teams.filter((team) => !variables.filter?.key?.eq || team.key === variables.filter.key.eq)) } });
        case 'issueLabels':
          return send(200, { data: { issueLabels: page(state.labels.filter((label) => !variables.filter?.name?.in || variables.filter.name.in.includes(label.name))) } });
        case 'issueCreate': {
          const input = variables.input;
          const issue: FakeIssue = {
            id: `issue-${state.issues.length + 1}`,
            identifier: `ENG-${100 + state.issues.length + 1}`,
            title: input.title,
            description: input.description ?? '',
            branchName: `eng-${100 + state.issues.length + 1}-${String(input.title).toLowerCase().replace(/[^a-z0-9]+/g, '-')}`,
            stateId: 'state-todo',
            teamId: input.teamId,
            labels: (input.labelIds ?? []).map((id: string) => state.labels.find((label) => label.id === id)?.name),
            attachments: [],
          };
          state.issues.push(issue);
          return send(200, { data: { issueCreate: { success: true, lastSyncId: 1, issue: { id: issue.id } } } });
        }
        case 'issueUpdate': {
          const issue = find(variables.id);
          if (!issue) return notFound();
          if (variables.input?.stateId) issue.stateId = variables.input.stateId;
          return send(200, { data: { issueUpdate: { success: true, lastSyncId: 2, issue: { id: issue.id } } } });
        }
        case 'attachmentLinkURL': {
          const issue = find(variables.issueId);
          if (!issue) return notFound();
          issue.attachments.push(String(variables.url));
          return send(200, { data: { attachmentLinkURL: { success: true, lastSyncId: 3, attachment: { id: `att-${issue.attachments.length}` } } } });
        }
        default:
          return send(400, { errors: [{ message: `Unknown operation ${field}` }] });
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`;
  state.close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  return state;
}
