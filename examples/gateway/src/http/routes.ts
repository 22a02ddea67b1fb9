/**
 * The API's endpoints and the small router that finds them. Handlers get a validated context and
 * return an answer (or throw a GatewayError); the pipeline in api.ts does the rest.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { channelTopic, type ResponsePayload } from '@modelriver/client';
import type { AsyncAck, ReconnectAnswer, SyncAnswer } from '@modelriver/node';
import { parseTopic } from '../channels/topic.js';
import type { ChannelHub } from '../channels/types.js';
import { ErrorCode, GatewayError } from '../errors.js';
import { storeUnavailable } from '../store/redis.js';
import type { Project } from '../projects.js';
import type { AcceptedRequest, Runner } from '../runner/runner.js';
import type { RequestLogStore, StoredRequestLog } from '../runner/request-store.js';
import type { WebhookDelivery, WebhookDispatcher } from '../webhooks/types.js';
import type { Workflow } from '../workflows.js';
import type { IdempotencyStore, StoredAnswer } from './idempotency.js';
import { publicBase, websocketUrl } from './public-url.js';
import { isUuid } from '../values.js';
import { parseAiRequest, parseCallbackBody, parseReconnectBody, type AiRequestInput } from './validation.js';

/** What a handler gets. */
export interface RouteContext {
  req: IncomingMessage;
  res: ServerResponse;
  /** The authenticated API key. */
  apiKey: string;
  /** The project of that key: the only one whose resources this request may see. */
  project: Project;
  params: Record<string, string>;
  /** Parsed JSON body (routes with a body only). */
  body: unknown;
  rawBody: Buffer;
  idempotencyKey: string | undefined;
}

/** A handler's answer; null when it wrote the response itself. */
export type RouteAnswer = { status: number; body: unknown; headers?: Record<string, string> } | null;

interface Route {
  method: string;
  pattern: RegExp;
  names: string[];
  hasBody: boolean;
  handler: (context: RouteContext) => Promise<RouteAnswer>;
}

/** The outcome of {@link Routes.match}. */
export type RouteMatch =
  | { kind: 'found'; route: Route; params: Record<string, string> }
  | { kind: 'method_not_allowed'; allow: string[] }
  | { kind: 'not_found' };

/** The route table. */
export interface Routes {
  match(method: string, path: string): RouteMatch;
}

/** What the endpoints need. */
export interface RoutesDeps {
  publicUrl: string | null;
  /** `http://host:port` of the listening socket, used when a request has no usable Host header. */
  localBase: () => string;
  runner: Runner;
  hub: ChannelHub;
  dispatcher: WebhookDispatcher;
  store: RequestLogStore;
  workflows: ReadonlyMap<string, Workflow>;
  idempotency: IdempotencyStore;
}

function compile(method: string, template: string, hasBody: boolean, handler: Route['handler']): Route {
  const names: string[] = [];
  const source = template.replace(/:([a-z_]+)/g, (_, name: string) => {
    names.push(name);
    return '([^/]+)';
  });
  return { method, pattern: new RegExp(`^${source}$`), names, hasBody, handler };
}

function deliveryView(delivery: WebhookDelivery): Record<string, unknown> {
  return {
    id: delivery.id,
    type: delivery.type,
    url: delivery.url,
    channel_id: delivery.channelId,
    state: delivery.state,
    attempts: delivery.attempts,
  };
}

/**
 * Creates the route table of the gateway's API.
 *
 * @example
 * ```ts
 * const routes = createRoutes({ publicUrl: null, localBase, runner, hub, dispatcher, store, workflows, idempotency });
 * routes.match('POST', '/v1/ai/async');
 * ```
 */
export function createRoutes(deps: RoutesDeps): Routes {
  const baseOf = (req: IncomingMessage): string => publicBase(req, deps.publicUrl, deps.localBase());

  /*
   * Another project's resources are answered exactly like missing ones (404, same message), so a
   * key cannot even learn that a channel id exists elsewhere.
   */
  async function ownRecord(project: Project, channelId: string): Promise<StoredRequestLog | undefined> {
    const log = isUuid(channelId) ? await deps.store.read(channelId) : undefined;
    return log?.project_id === project.id ? log : undefined;
  }

  /** The live channel, if it belongs to `project` (its topic names the project). */
  async function ownChannel(project: Project, channelId: string): Promise<{ topic: string } | undefined> {
    const handle = await deps.hub.describe(channelId).catch((err: unknown) => {
      throw storeUnavailable(err);
    });
    return handle && parseTopic(handle.topic)?.projectId === project.id ? handle : undefined;
  }

  function resolveWorkflow(input: AiRequestInput, project: Project): AcceptedRequest {
    const workflow = deps.workflows.get(input.workflow);
    if (!workflow) {
      const known = [...deps.workflows.keys()].join(', ');
      throw new GatewayError(404, ErrorCode.workflowNotFound, `workflow "${input.workflow}" not found (available: ${known})`);
    }
    return {
      projectId: project.id,
      webhookSecret: project.webhookSecret,
      workflow,
      messages: input.messages,
      metadata: input.metadata,
      webhookUrl: input.webhookUrl ?? workflow.webhookUrl ?? null,
      events: input.events,
    };
  }

  async function connectionFields(project: Project, channelId: string, base: string): Promise<Omit<ReconnectAnswer, 'channel_id' | 'project_id'>> {
    const wsToken = await deps.hub.issueToken(channelId).catch((err: unknown) => {
      throw storeUnavailable(err);
    });
    return {
      ws_token: wsToken,
      websocket_url: websocketUrl(base),
      websocket_channel: channelTopic(project.id, channelId),
    };
  }

  async function postAsync(ctx: RouteContext): Promise<RouteAnswer> {
    const input = parseAiRequest(ctx.body);
    const accepted = resolveWorkflow(input, ctx.project);
    const base = baseOf(ctx.req);
    const { answer, replayed } = await deps.idempotency.run(`${ctx.apiKey} async`, ctx.idempotencyKey, ctx.rawBody, async () => {
      const channelId = randomUUID();
      const { saved } = deps.runner.start(channelId, accepted, 'async', base);
      // Accepted means another node could finish it: the ack waits until the store has it.
      await saved.catch((err: unknown) => {
        deps.runner.cancel(channelId, 'gateway');
        throw storeUnavailable(err);
      });
      const ack: AsyncAck = {
        message: 'success',
        status: 'pending',
        channel_id: channelId,
        project_id: ctx.project.id,
        ...(await connectionFields(ctx.project, channelId, base)),
        customer_data: input.metadata,
      };
      return { status: 202, body: ack as unknown as Record<string, unknown> } satisfies StoredAnswer;
    });
    if (!replayed) return { ...answer, headers: {} };
    // The first answer's token may have been used already: a replay gets a fresh one.
    const channelId = String(answer.body['channel_id']);
    if (!(await ownChannel(ctx.project, channelId))) return { ...answer, headers: { 'idempotent-replayed': 'true' } };
    return { status: answer.status, body: { ...answer.body, ...(await connectionFields(ctx.project, channelId, base)) }, headers: { 'idempotent-replayed': 'true' } };
  }

  async function postSync(ctx: RouteContext): Promise<RouteAnswer> {
    const input = parseAiRequest(ctx.body);
    const accepted = resolveWorkflow(input, ctx.project);
    const base = baseOf(ctx.req);
    const { answer, replayed } = await deps.idempotency.run(`${ctx.apiKey} sync`, ctx.idempotencyKey, ctx.rawBody, async () => {
      const channelId = randomUUID();
      const { firstResponse } = deps.runner.start(channelId, accepted, 'sync', base);
      const response = await firstResponse;
      return { status: 200, body: syncAnswer(response, input) as unknown as Record<string, unknown> } satisfies StoredAnswer;
    });
    return { ...answer, headers: replayed ? { 'idempotent-replayed': 'true' } : {} };
  }

  async function postReconnect(ctx: RouteContext): Promise<RouteAnswer> {
    const { channelId } = parseReconnectBody(ctx.body);
    if (!(await ownChannel(ctx.project, channelId))) {
      const record = await ownRecord(ctx.project, channelId);
      if (record) {
        throw new GatewayError(409, ErrorCode.channelExpired, `channel ${channelId} has ended (${record.status}) and its events are no longer kept`);
      }
      throw new GatewayError(404, ErrorCode.notFound, `channel ${channelId} not found`);
    }
    const answer: ReconnectAnswer = {
      channel_id: channelId,
      project_id: ctx.project.id,
      ...(await connectionFields(ctx.project, channelId, baseOf(ctx.req))),
    };
    return { status: 200, body: answer };
  }

  async function postCallback(ctx: RouteContext): Promise<RouteAnswer> {
    const channelId = ctx.params['channel_id'] ?? '';
    if (!isUuid(channelId)) throw new GatewayError(404, ErrorCode.notFound, `channel ${channelId} not found`);
    const body = parseCallbackBody(ctx.body);
    // A running request always has its record, so this also hides other projects' live channels.
    if (!(await ownRecord(ctx.project, channelId))) throw new GatewayError(404, ErrorCode.notFound, `channel ${channelId} not found`);
    await deps.runner.routeCallback(channelId, body);
    return { status: 200, body: { status: 'ok' } };
  }

  async function getRequest(ctx: RouteContext): Promise<RouteAnswer> {
    const channelId = ctx.params['channel_id'] ?? '';
    const log = await ownRecord(ctx.project, channelId);
    if (!log) throw new GatewayError(404, ErrorCode.notFound, `no request log for channel ${channelId}`);
    return { status: 200, body: log };
  }

  async function getDeadLetters(ctx: RouteContext): Promise<RouteAnswer> {
    // A Redis-backed dispatcher rejects with 503 store_unavailable while Redis is away.
    const own = await deps.dispatcher.deadLetters(ctx.project.id);
    return { status: 200, body: { dead_letters: own.map(deliveryView) } };
  }

  async function postReplay(ctx: RouteContext): Promise<RouteAnswer> {
    const id = ctx.params['id'] ?? '';
    const known = await deps.dispatcher.get(id);
    // Only a dead letter is replayed: a pending or delivered one is not in the dead letters.
    const replayable = known?.projectId === ctx.project.id && known.state === 'dead';
    const delivery = replayable ? await deps.dispatcher.replay(id) : undefined;
    if (!delivery) throw new GatewayError(404, ErrorCode.notFound, `no dead-lettered webhook with id ${id}`);
    deps.store.webhookState(delivery.channelId, delivery.id, 'pending');
    return { status: 202, body: { delivery: deliveryView(delivery) } };
  }

  async function getWorkflows(): Promise<RouteAnswer> {
    const list = [...deps.workflows.values()].map((w) => ({
      name: w.name,
      description: w.description,
      providers: w.providers.map((p) => ({ name: p.name, model: p.model })),
      structured_output: w.schema !== null,
      event: w.event,
      tools: w.tools.map((t) => t.name),
      webhook_url: w.webhookUrl ?? null,
    }));
    return { status: 200, body: { workflows: list } };
  }

  const table: Route[] = [
    compile('POST', '/v1/ai/async', true, postAsync),
    compile('POST', '/v1/ai', true, postSync),
    compile('POST', '/v1/ai/reconnect', true, postReconnect),
    compile('POST', '/v1/callback/:channel_id', true, postCallback),
    compile('GET', '/v1/requests/:channel_id', false, getRequest),
    compile('GET', '/v1/webhooks/dead-letters', false, getDeadLetters),
    compile('POST', '/v1/webhooks/dead-letters/:id/replay', false, postReplay),
    compile('GET', '/v1/workflows', false, getWorkflows),
  ];

  return {
    match(method, path) {
      const allow: string[] = [];
      for (const route of table) {
        const found = route.pattern.exec(path);
        if (!found) continue;
        if (route.method !== method) {
          allow.push(route.method);
          continue;
        }
        const params: Record<string, string> = {};
        route.names.forEach((name, i) => {
          params[name] = safeDecode(found[i + 1] ?? '');
        });
        return { kind: 'found', route, params };
      }
      return allow.length > 0 ? { kind: 'method_not_allowed', allow } : { kind: 'not_found' };
    },
  };
}

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

/** The `POST /v1/ai` answer for the first response of a sync request. */
function syncAnswer(response: ResponsePayload, input: AiRequestInput): SyncAnswer & Record<string, unknown> {
  return {
    status: response.status,
    channel_id: response.channel_id,
    content: response.content ?? '',
    data: response.data ?? null,
    model: response.model ?? '',
    meta: response.meta,
    customer_data: response.customer_data ?? input.metadata,
    ...(response.error ? { error: response.error } : {}),
    ...(response.event_name !== undefined ? { event_name: response.event_name } : {}),
    ...(response.ai_response !== undefined ? { ai_response: response.ai_response } : {}),
  };
}
