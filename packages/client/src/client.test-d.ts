import { describe, expectTypeOf, it } from 'vitest';
import WebSocket from 'ws';
import {
  DEFAULT_HEARTBEAT_INTERVAL,
  DEFAULT_REQUEST_TIMEOUT,
  buildWebSocketUrl,
  decodeToken,
  isStorageAvailable,
  isTokenExpired,
  ErrorCode,
  EventStream,
  ModelRiverClient,
  ModelRiverError,
  type AIResponse,
  type AsyncResponse,
  type ConnectOptions,
  type ConnectParams,
  type TokenPayload,
  type ConnectionState,
  type ConnectionTransition,
  type ModelRiverClientOptions,
  type ModelRiverErrorLike,
  type ProtocolErrorInfo,
  type StatusPayload,
  type StreamEvent,
  type StreamState,
  type StreamStatus,
  type TokensPayload,
  type ToolCallPayload,
  type WorkflowStep,
} from './index.js';

const client = new ModelRiverClient();

describe('event map', () => {
  it('types each listener by its event', () => {
    client.on('tokens', (e) => expectTypeOf(e).toEqualTypeOf<TokensPayload>());
    client.on('status', (e) => expectTypeOf(e).toEqualTypeOf<StatusPayload>());
    client.on('tool_call', (e) => expectTypeOf(e).toEqualTypeOf<ToolCallPayload>());
    client.on('response', (r) => expectTypeOf(r).toEqualTypeOf<AIResponse>());
    client.on('error', (err) => expectTypeOf(err).toEqualTypeOf<ModelRiverErrorLike>());
    client.on('protocol_error', (info) => expectTypeOf(info).toEqualTypeOf<ProtocolErrorInfo>());
    client.on('step', (step) => expectTypeOf(step).toEqualTypeOf<WorkflowStep>());
    client.on('disconnected', (reason, transition) => {
      expectTypeOf(reason).toEqualTypeOf<string>();
      expectTypeOf(transition).toEqualTypeOf<ConnectionTransition>();
    });
    client.on('state', (state, previous) => {
      expectTypeOf(state).toEqualTypeOf<StreamState>();
      expectTypeOf(previous).toEqualTypeOf<StreamState>();
    });
  });

  it('on returns an unsubscribe function; subscribe too', () => {
    expectTypeOf(client.on('tokens', () => undefined)).toEqualTypeOf<() => void>();
    expectTypeOf(client.subscribe(() => undefined)).toEqualTypeOf<() => void>();
  });

  it('rejects unknown events and mismatched listeners', () => {
    // @ts-expect-error: no such event
    client.on('token', () => undefined);
    // @ts-expect-error: a tokens listener does not take a status payload
    client.on('tokens', (e: StatusPayload) => e);
  });
});

describe('state and methods', () => {
  it('types the state fields', () => {
    const state = client.getState();
    expectTypeOf(state.text).toEqualTypeOf<string>();
    expectTypeOf(state.status).toEqualTypeOf<StreamStatus>();
    expectTypeOf(state.connectionState).toEqualTypeOf<ConnectionState>();
    expectTypeOf(state.lastSeq).toEqualTypeOf<number>();
    expectTypeOf(state.response).toEqualTypeOf<AIResponse | null>();
    expectTypeOf(state.error).toEqualTypeOf<string | null>();
  });

  it('types the methods', () => {
    expectTypeOf(client.reconnect()).toEqualTypeOf<boolean>();
    expectTypeOf(client.reconnectWithBackend()).toEqualTypeOf<Promise<boolean>>();
    expectTypeOf(client.cancel()).toEqualTypeOf<Promise<void>>();
    expectTypeOf(client.hasPendingRequest()).toEqualTypeOf<boolean>();
    // The parameter is a union (camelCase | the ack's snake_case): its camelCase member has wsToken: string.
    expectTypeOf(client.connect).parameter(0).extract<ConnectParams>().toHaveProperty('wsToken').toEqualTypeOf<string>();
    expectTypeOf(client.getState().isCompleted).toEqualTypeOf<boolean>();
  });

  it('connect() and stream() take the async ack as the backend returns it, or camelCase', () => {
    const ack = { channel_id: 'c', ws_token: 't', websocket_url: 'ws://h/socket', websocket_channel: 'ai_response:p:c', project_id: 'p' };
    expectTypeOf(ack).toMatchTypeOf<ConnectOptions>();
    expectTypeOf(ack).toMatchTypeOf<AsyncResponse>();
    expectTypeOf({ channelId: 'c', wsToken: 't' }).toMatchTypeOf<ConnectOptions>();
    expectTypeOf(client.connect).parameter(0).toEqualTypeOf<ConnectOptions>();
    expectTypeOf(client.stream).parameter(0).toEqualTypeOf<ConnectOptions>();
    // Either form needs its token.
    expectTypeOf({ channel_id: 'c' }).not.toMatchTypeOf<ConnectOptions>();
    expectTypeOf({ channelId: 'c' }).not.toMatchTypeOf<ConnectOptions>();
  });

  it("types the hosted SDK's helpers", () => {
    expectTypeOf(decodeToken).returns.toEqualTypeOf<TokenPayload>();
    expectTypeOf(isTokenExpired).parameter(0).toEqualTypeOf<TokenPayload | string>();
    expectTypeOf(isTokenExpired).returns.toEqualTypeOf<boolean>();
    expectTypeOf(buildWebSocketUrl).toEqualTypeOf<(baseUrl: string, token: string) => string>();
    expectTypeOf(isStorageAvailable).toEqualTypeOf<() => boolean>();
    expectTypeOf(DEFAULT_HEARTBEAT_INTERVAL).toMatchTypeOf<number>();
    expectTypeOf(DEFAULT_REQUEST_TIMEOUT).toMatchTypeOf<number>();
  });

  it('stream() yields StreamEvent', async () => {
    const stream = client.stream({ channelId: 'c', wsToken: 't' });
    expectTypeOf(stream).toEqualTypeOf<EventStream>();
    for await (const event of stream) {
      expectTypeOf(event).toEqualTypeOf<StreamEvent>();
      if (event.type === 'tokens') expectTypeOf(event.payload).toEqualTypeOf<TokensPayload>();
    }
    expectTypeOf(stream.finalResponse()).toEqualTypeOf<Promise<AIResponse>>();
    expectTypeOf(stream.finalText()).toEqualTypeOf<Promise<string>>();
  });

  it('accepts the ws and DOM WebSocket constructors without a cast', () => {
    expectTypeOf({ WebSocket }).toMatchTypeOf<ModelRiverClientOptions>();
    expectTypeOf({ WebSocket: globalThis.WebSocket }).toMatchTypeOf<ModelRiverClientOptions>();
  });

  it('errors carry a code', () => {
    expectTypeOf(new ModelRiverError('cancelled', 'x').code).toMatchTypeOf<string>();
    expectTypeOf(ErrorCode.unauthorized).toEqualTypeOf<'unauthorized'>();
  });
});
