// @vitest-environment jsdom
import { Component, inject, PLATFORM_ID } from '@angular/core';
import { TestBed } from '@angular/core/testing';
import { describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import { createMemoryStorage, ModelRiverError } from '@modelriver/client';
import type { AIResponse, ConnectionState, ConnectOptions, WorkflowStep } from '@modelriver/client';
import { createModelRiverService, ModelRiverService, provideModelRiver } from '@modelriver/angular';
import { autoFrames, configure, manualFrames, RecordingTimers, serviceOptions, snakeAck, spyStorage, startGateway } from './helpers.js';

const WAIT = { timeout: 10_000 };

describe('ModelRiverService', () => {
  it('streams tokens into signals and the hosted SDK observables', async () => {
    autoFrames();
    const gw = await startGateway();
    const ch = gw.createChannel();
    configure(provideModelRiver(serviceOptions()));
    const river = TestBed.inject(ModelRiverService);
    const states: ConnectionState[] = [];
    const responses: Array<AIResponse | null> = [];
    const pending: boolean[] = [];
    let steps: WorkflowStep[] = [];
    let error: string | null | undefined;
    river.connectionState$.subscribe((s) => states.push(s));
    river.response$.subscribe((r) => responses.push(r));
    river.hasPendingRequest$.subscribe((p) => pending.push(p));
    river.steps$.subscribe((s) => (steps = s));
    river.error$.subscribe((e) => (error = e));
    expect(river.status()).toBe('idle');
    expect(river.isConnected).toBe(false);
    expect(river.isConnecting).toBe(false);
    expect(states).toEqual(['disconnected']);
    expect(responses).toEqual([null]);
    for (const name of ['init', 'connect', 'disconnect', 'reset', 'destroy', 'cancel', 'reconnect'] as const) expect(typeof river[name]).toBe('function');

    const joined = ch.waitForJoin();
    river.connect(gw.connectOptions(ch));
    await joined;
    await vi.waitFor(() => expect(river.isConnected).toBe(true), WAIT);
    expect(pending.at(-1)).toBe(true);
    await ch.streamText('Hello from the gateway', { chunkSize: 3 });
    await vi.waitFor(() => expect(river.status()).toBe('success'), WAIT);
    expect(river.text()).toBe('Hello from the gateway');
    expect(river.response()?.status).toBe('success');
    expect(responses.at(-1)?.status).toBe('success');
    expect(responses.filter((r) => r !== null)).toHaveLength(1);
    expect(pending.at(-1)).toBe(false);
    expect(states).toContain('connected');
    expect(steps.length).toBeGreaterThan(0);
    expect(steps.every((s) => s.status === 'success')).toBe(true);
    expect(error).toBeNull();
  });

  it('connect() takes the ack as the backend returns it; data and tool arguments are partial while they stream', async () => {
    autoFrames();
    const gw = await startGateway();
    const ch = gw.createChannel();
    configure(provideModelRiver(serviceOptions()));
    const river = TestBed.inject<ModelRiverService<{ reply: string; score: number }>>(ModelRiverService);
    const joined = ch.waitForJoin();
    river.connect((await Promise.resolve(snakeAck(gw, ch))) as ConnectOptions);
    await joined;
    ch.tokens('{"reply": "Hel');
    await vi.waitFor(() => expect(river.data()?.reply).toBe('Hel'), WAIT);
    ch.toolCall({ index: 0, id: 'call_1', name: 'get_weather', arguments: '{"city": "Os' });
    await vi.waitFor(() => expect(river.toolCalls()[0]?.arguments).toEqual({ city: 'Os' }), WAIT);
    ch.tokens('lo", "score": 0.5}');
    ch.respond({ status: 'success', data: { reply: 'Hello', score: 0.5 } });
    await vi.waitFor(() => expect(river.status()).toBe('success'), WAIT);
    expect(river.data()).toEqual({ reply: 'Hello', score: 0.5 });
    expect(river.isCompleted()).toBe(true);
  });

  it('signals change at most once per animation frame at 2,000 tokens/s, and only the signals whose value changed', async () => {
    const frames = manualFrames();
    const gw = await startGateway();
    const ch = gw.createChannel();
    configure(provideModelRiver(serviceOptions()));
    const river = TestBed.inject(ModelRiverService);
    let tokens = 0;
    const joined = ch.waitForJoin();
    river.connect(gw.connectOptions(ch));
    river.client?.on('tokens', () => tokens++);
    await joined;
    ch.tokens('first ');
    await vi.waitFor(() => expect(tokens).toBe(1), WAIT);
    frames.frame();
    expect(river.status()).toBe('streaming');
    const status = river.status;
    const statusBefore = status();
    let sent = 1;
    for (let f = 0; f < 10; f++) {
      const before = river.text();
      // About 33 tokens per frame at 60 frames/s: the client applies them all, the signal waits.
      for (let i = 0; i < 33; i++) ch.tokens(`t${sent++} `);
      await vi.waitFor(() => expect(tokens).toBe(sent), WAIT);
      expect(river.text()).toBe(before);
      expect(frames.pending()).toBe(1);
      frames.frame();
      expect(river.text()).toBe(ch.text);
    }
    expect(status()).toBe(statusBefore);
  });

  it('a component renders the signals; providers: [ModelRiverService] with init() as in the hosted SDK; destroying it closes the socket with no timer left', async () => {
    autoFrames();
    const gw = await startGateway();
    const ch = gw.createChannel();
    const timers = new RecordingTimers();
    configure();
    const Answer = Component({
      selector: 'app-answer',
      providers: [ModelRiverService],
      template: '<p id="text">{{ river.text() }}</p><p id="status">{{ river.status() }}</p>',
    })(
      class {
        readonly river = inject(ModelRiverService);
        constructor() {
          this.river.init(serviceOptions({ timers }));
        }
      },
    );
    const fixture = TestBed.createComponent(Answer);
    fixture.autoDetectChanges();
    const river = fixture.componentInstance.river;
    const el = fixture.nativeElement as HTMLElement;
    const joined = ch.waitForJoin();
    river.connect(gw.connectOptions(ch));
    const conn = await joined;
    ch.tokens('rendered');
    await vi.waitFor(() => expect(el.querySelector('#text')?.textContent).toBe('rendered'), WAIT);
    expect(el.querySelector('#status')?.textContent).toBe('streaming');
    expect(gw.upgrades).toHaveLength(1);

    const closed = conn.waitForClose();
    let completed = false;
    river.connectionState$.subscribe({ complete: () => (completed = true) });
    fixture.destroy();
    await closed;
    expect(gw.connections).toHaveLength(0);
    expect(timers.pending).toBe(0);
    expect(completed).toBe(true);
    expect(() => river.connect(gw.connectOptions(ch))).toThrow(expect.objectContaining({ code: 'destroyed' }));
  });

  it('torn down with its injector while a request streams: no socket or timer left, and a reload resumes the request', async () => {
    autoFrames();
    const gw = await startGateway();
    const ch = gw.createChannel();
    const storage = createMemoryStorage();
    const timers = new RecordingTimers();
    configure(provideModelRiver(serviceOptions({ storage, timers })));
    const first = TestBed.inject(ModelRiverService);
    const joined = ch.waitForJoin();
    first.connect(gw.connectOptions(ch));
    const conn = await joined;
    ch.tokens('Part one, ');
    await vi.waitFor(() => expect(first.text()).toBe('Part one, '), WAIT);
    const closed = conn.waitForClose();
    TestBed.resetTestingModule();
    await closed;
    expect(gw.connections).toHaveLength(0);
    expect(timers.pending).toBe(0);
    // Meanwhile the answer goes on.
    ch.tokens('part two, ');
    ch.tokens('part three.');

    // The reloaded page: the text from storage as soon as the service exists, then the resume.
    configure(provideModelRiver(serviceOptions({ storage })));
    const rejoined = ch.waitForJoin();
    const reloaded = TestBed.inject(ModelRiverService);
    expect(reloaded).not.toBe(first);
    expect(reloaded.text()).toBe('Part one, ');
    expect(reloaded.hasPendingRequest()).toBe(true);
    await rejoined;
    ch.respond({ status: 'success', content: undefined });
    await vi.waitFor(() => expect(reloaded.status()).toBe('success'), WAIT);
    expect(reloaded.text()).toBe('Part one, part two, part three.');
    expect(reloaded.text()).toBe(ch.text);
    expect(gw.upgrades).toHaveLength(2);
  });

  it('resumes after a dropped connection without losing or repeating tokens', async () => {
    autoFrames();
    const gw = await startGateway();
    const ch = gw.createChannel();
    configure(provideModelRiver(serviceOptions()));
    const river = TestBed.inject(ModelRiverService);
    const joined = ch.waitForJoin();
    river.connect(gw.connectOptions(ch));
    const conn = await joined;
    ch.tokens('before ');
    await vi.waitFor(() => expect(river.text()).toBe('before '), WAIT);
    const rejoined = ch.waitForJoin();
    conn.drop();
    ch.tokens('during ');
    await rejoined;
    ch.tokens('after');
    ch.respond({ status: 'success', content: undefined });
    await vi.waitFor(() => expect(river.status()).toBe('success'), WAIT);
    expect(river.text()).toBe('before during after');
  });

  it('cancel() asks the gateway, and the request ends cancelled there', async () => {
    autoFrames();
    const gw = await startGateway();
    const ch = gw.createChannel();
    configure(provideModelRiver(serviceOptions()));
    const river = TestBed.inject(ModelRiverService);
    const joined = ch.waitForJoin();
    river.connect(gw.connectOptions(ch));
    await joined;
    ch.tokens('partial');
    await vi.waitFor(() => expect(river.text()).toBe('partial'), WAIT);
    await river.cancel();
    await vi.waitFor(() => expect(river.status()).toBe('cancelled'), WAIT);
    expect(ch.ended).toBe('cancelled');
    expect(river.text()).toBe('partial');
  });

  it('init() right after provideModelRiver(options) created the service opens one socket for a pending request', async () => {
    autoFrames();
    const gw = await startGateway();
    const ch = gw.createChannel();
    const storage = createMemoryStorage();
    configure(provideModelRiver(serviceOptions({ storage })));
    const first = TestBed.inject(ModelRiverService);
    const joined = ch.waitForJoin();
    first.connect(gw.connectOptions(ch));
    const conn = await joined;
    ch.tokens('kept');
    await vi.waitFor(() => expect(first.text()).toBe('kept'), WAIT);
    const closed = conn.waitForClose();
    TestBed.resetTestingModule();
    await closed;

    // Counts the sockets the reloaded page constructs, opened or not.
    let sockets = 0;
    class CountingWebSocket extends WebSocket {
      constructor(...args: ConstructorParameters<typeof WebSocket>) {
        super(...args);
        sockets++;
      }
    }
    const options = serviceOptions({ storage, WebSocket: CountingWebSocket });
    configure(provideModelRiver(options));
    const rejoined = ch.waitForJoin();
    const river = TestBed.inject(ModelRiverService);
    river.init(options);
    await rejoined;
    ch.respond({ status: 'success', content: undefined });
    await vi.waitFor(() => expect(river.status()).toBe('success'), WAIT);
    expect(river.text()).toBe('kept');
    expect(sockets).toBe(1);
  });

  it('on the server it creates no client and touches no storage', async () => {
    const gw = await startGateway();
    const ch = gw.createChannel();
    const storage = spyStorage();
    configure({ provide: PLATFORM_ID, useValue: 'server' }, provideModelRiver(serviceOptions({ storage })));
    const river = TestBed.inject(ModelRiverService);
    river.init(serviceOptions({ storage }));
    river.connect(gw.connectOptions(ch));
    expect(river.client).toBeNull();
    expect(river.text()).toBe('');
    expect(river.status()).toBe('idle');
    expect(river.reconnect()).toBe(false);
    await expect(river.cancel()).rejects.toMatchObject({ code: 'not_connected' });
    expect(storage.calls).toEqual([]);
    expect(gw.upgrades).toHaveLength(0);
  });

  it('createModelRiverService() works outside DI; destroy() is final; connect() without init() creates the client', async () => {
    autoFrames();
    const gw = await startGateway();
    const ch = gw.createChannel();
    const river = createModelRiverService(serviceOptions());
    const joined = ch.waitForJoin();
    river.connect(gw.connectOptions(ch));
    const conn = await joined;
    ch.tokens('outside');
    await vi.waitFor(() => expect(river.text()).toBe('outside'), WAIT);
    const closed = conn.waitForClose();
    river.destroy();
    await closed;
    river.destroy();
    expect(river.client).toBeNull();
    expect(() => river.init()).toThrow(ModelRiverError);
    await expect(river.cancel()).rejects.toMatchObject({ code: 'not_connected' });

    // Listed as a plain class provider, as the hosted SDK's docs write it: no init() until used.
    configure(ModelRiverService);
    const lazy = TestBed.inject(ModelRiverService);
    expect(lazy.client).toBeNull();
    const other = gw.createChannel();
    const otherJoined = other.waitForJoin();
    lazy.connect(gw.connectOptions(other));
    expect(lazy.client).not.toBeNull();
    await otherJoined;
  });
});
