/**
 * `ModelRiverService`: the hosted SDK's Angular service (same names: `init`, `connect`,
 * `disconnect`, `reset`, `destroy`, `connectionState$`, `steps$`, `response$`, `error$`,
 * `hasPendingRequest$`) over the core client's store, with signals for the streaming fields.
 *
 * No decorator: Angular creates the class through `provideModelRiver()`'s factory, or as an
 * undecorated provider (`providers: [ModelRiverService]`, as the hosted SDK's docs write it),
 * which works because the constructor takes no parameter. It injects what it needs itself.
 */
import { computed, DestroyRef, inject, PLATFORM_ID, signal } from '@angular/core';
import type { Signal } from '@angular/core';
import { BehaviorSubject } from 'rxjs';
import type { Observable } from 'rxjs';
import { initialStreamState, ModelRiverClient, ModelRiverError } from '@modelriver/client';
import type {
  AIResponse,
  ConnectionState,
  ConnectOptions,
  PartialData,
  StatusPayload,
  StreamMetrics,
  StreamState,
  StreamStatus,
  ToolCallState,
  WorkflowStep,
} from '@modelriver/client';
import { MODEL_RIVER_OPTIONS } from './options.js';
import type { ModelRiverServiceOptions } from './options.js';
export type { PartialData } from '@modelriver/client';

/** Emits only a value different from the current one, so `async` pipes see changes, not frames. */
function push<T>(subject: BehaviorSubject<T>, value: T): void {
  if (!Object.is(subject.value, value)) subject.next(value);
}

/**
 * Streams AI responses into Angular. Create it with `provideModelRiver(options)` (it then
 * calls `init(options)` itself and resumes a request persisted before a reload) or list it
 * in `providers` and call `init(options)` as with the hosted SDK. It is torn down with the
 * injector that created it: the socket closes and no timer is left, while a request still
 * streaming stays persisted so a reload resumes it.
 *
 * Signals (`text`, `status`, `data`, `toolCalls`, `metrics`, `steps`, `response`, `error`,
 * `connectionState`, `hasPendingRequest`, `state`) change at most once per animation frame
 * (the client's `notify: 'animationFrame'`, unless `notify` says otherwise); each one only
 * when its own value changed. On the server (`PLATFORM_ID` is not `'browser'`) no client is
 * created: the signals hold the initial state and no storage, socket or timer is touched.
 *
 * @example
 * ```ts
 * @Component({
 *   selector: 'app-answer',
 *   providers: [provideModelRiver({ apiBaseUrl: '/api' })],
 *   template: `<p>{{ river.text() }}</p>
 *     @if (river.status() === 'streaming') { <button (click)="river.cancel()">Stop</button> }`,
 * })
 * export class AnswerComponent {
 *   readonly river = inject(ModelRiverService);
 *   async ask(prompt: string) {
 *     const ack = await fetch('/api/ask', { method: 'POST', body: prompt }).then((r) => r.json());
 *     this.river.connect(ack); // the ack as the backend returns it (snake_case)
 *   }
 * }
 * ```
 */
export class ModelRiverService<TData = unknown> {
  private readonly current = signal<StreamState>(initialStreamState());
  /** The whole snapshot (the client's `getState()`). */
  readonly state: Signal<StreamState> = this.current.asReadonly();
  /** The text so far. */
  readonly text: Signal<string> = computed(() => this.current().text);
  readonly status: Signal<StreamStatus> = computed(() => this.current().status);
  /** Structured output: partial while it streams, the validated object at the end. */
  readonly data: Signal<PartialData<TData> | null> = computed(() => this.current().data as PartialData<TData> | null);
  /** Tool calls; their arguments are partial while they stream. */
  readonly toolCalls: Signal<ToolCallState[]> = computed(() => this.current().toolCalls);
  readonly metrics: Signal<StreamMetrics> = computed(() => this.current().metrics);
  readonly steps: Signal<WorkflowStep[]> = computed(() => this.current().steps);
  readonly response: Signal<AIResponse | null> = computed(() => this.current().response);
  /** Human-readable error message; its stable code is `errorCode`. */
  readonly error: Signal<string | null> = computed(() => this.current().error);
  readonly errorCode: Signal<string | null> = computed(() => this.current().errorCode);
  readonly connectionState: Signal<ConnectionState> = computed(() => this.current().connectionState);
  readonly hasPendingRequest: Signal<boolean> = computed(() => this.current().hasPendingRequest);
  readonly isCompleted: Signal<boolean> = computed(() => this.current().isCompleted);
  /** The latest `status` event (provider, model, failover reason). */
  readonly lastStatus: Signal<StatusPayload | null> = computed(() => this.current().lastStatus);

  private readonly connectionStateSubject = new BehaviorSubject<ConnectionState>('disconnected');
  private readonly stepsSubject = new BehaviorSubject<WorkflowStep[]>([]);
  private readonly responseSubject = new BehaviorSubject<AIResponse | null>(null);
  private readonly errorSubject = new BehaviorSubject<string | null>(null);
  private readonly hasPendingRequestSubject = new BehaviorSubject<boolean>(false);
  /** The hosted SDK's observables; each replays its current value and completes on `destroy()`. */
  readonly connectionState$: Observable<ConnectionState> = this.connectionStateSubject.asObservable();
  readonly steps$: Observable<WorkflowStep[]> = this.stepsSubject.asObservable();
  readonly response$: Observable<AIResponse | null> = this.responseSubject.asObservable();
  readonly error$: Observable<string | null> = this.errorSubject.asObservable();
  readonly hasPendingRequest$: Observable<boolean> = this.hasPendingRequestSubject.asObservable();

  private owned: ModelRiverClient | null = null;
  private unsubscribe: (() => void) | null = null;
  private destroyed = false;
  private readonly inBrowser: boolean;
  private readonly defaults: ModelRiverServiceOptions | null;

  /** Must run in an injection context (Angular's providers; `createModelRiverService()` otherwise). */
  constructor() {
    const platform = inject(PLATFORM_ID, { optional: true });
    this.inBrowser = platform === null ? typeof window !== 'undefined' : platform === 'browser';
    this.defaults = inject(MODEL_RIVER_OPTIONS, { optional: true });
    inject(DestroyRef).onDestroy(() => this.destroy());
    if (this.defaults !== null) this.init(this.defaults);
  }

  /** The hosted SDK's getter (reactive: it reads the state signal). */
  get isConnected(): boolean {
    return this.current().isConnected;
  }

  /** The hosted SDK's getter (reactive: it reads the state signal). */
  get isConnecting(): boolean {
    return this.current().isConnecting;
  }

  /** The underlying client: null before `init()`, on the server, and after `destroy()`. */
  get client(): ModelRiverClient | null {
    return this.owned;
  }

  /**
   * Creates the client with `options` (closing the previous one, whose pending request the
   * new one then resumes) and resumes a request persisted before a reload unless
   * `autoResume: false`. The resume waits a microtask, so an `init()` called right after
   * `provideModelRiver(options)` created the service opens one socket, not two.
   *
   * @example
   * ```ts
   * readonly river = inject(ModelRiverService);
   * constructor() {
   *   this.river.init({ apiBaseUrl: '/api', persist: true });
   * }
   * ```
   */
  init(options: ModelRiverServiceOptions = {}): void {
    if (this.destroyed) throw new ModelRiverError('destroyed', 'init() after destroy(): the service was torn down with its injector');
    this.closeClient();
    if (!this.inBrowser) return;
    const { autoResume = true, ...clientOptions } = options;
    // One update per animation frame unless `notify` says otherwise.
    const client = new ModelRiverClient({ notify: 'animationFrame', ...clientOptions });
    this.owned = client;
    this.unsubscribe = client.subscribe((state) => this.apply(state));
    this.apply(client.getState());
    if (autoResume) {
      queueMicrotask(() => {
        if (this.owned === client && client.hasPendingRequest()) client.reconnect();
      });
    }
  }

  /**
   * Starts streaming a request: the ack of `POST /v1/ai/async` as the backend returns it
   * (snake_case) or camelCase fields. Without `init()` first, the client is created with the
   * options given to `provideModelRiver()` (or the defaults). Does nothing on the server.
   *
   * @example
   * ```ts
   * this.river.connect(await firstValueFrom(this.http.post<AsyncResponse>('/api/ask', { prompt })));
   * ```
   */
  connect(ack: ConnectOptions): void {
    this.ensureClient()?.connect(ack);
  }

  /**
   * Stops the request and forgets it (no resume after a reload); `text` and `steps` stay.
   *
   * @example
   * ```ts
   * this.river.disconnect();
   * ```
   */
  disconnect(): void {
    this.owned?.disconnect();
  }

  /**
   * `disconnect()` and back to the initial state.
   *
   * @example
   * ```ts
   * this.river.reset();
   * ```
   */
  reset(): void {
    this.owned?.reset();
  }

  /**
   * Asks the gateway to stop generating; the request then ends `cancelled`. Rejects with
   * `not_connected` when no request is active.
   *
   * @example
   * ```ts
   * await this.river.cancel();
   * ```
   */
  cancel(): Promise<void> {
    const client = this.owned;
    if (client === null) return Promise.reject(new ModelRiverError('not_connected', 'cancel() needs connect() first'));
    return client.cancel();
  }

  /**
   * Resumes the unfinished request; false when there is nothing to resume.
   *
   * @example
   * ```ts
   * if (this.river.hasPendingRequest()) this.river.reconnect();
   * ```
   */
  reconnect(): boolean {
    return this.owned?.reconnect() ?? false;
  }

  /**
   * Tears the service down (its injector does it too): closes the socket, clears every timer
   * and completes the observables. A request still streaming stays persisted, so a reload
   * resumes it; call `disconnect()` or `reset()` first to forget it. Idempotent.
   *
   * @example
   * ```ts
   * ngOnDestroy() { this.river.destroy(); } // only needed for a service you created yourself
   * ```
   */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.closeClient();
    this.connectionStateSubject.complete();
    this.stepsSubject.complete();
    this.responseSubject.complete();
    this.errorSubject.complete();
    this.hasPendingRequestSubject.complete();
  }

  private ensureClient(): ModelRiverClient | null {
    if (this.destroyed) throw new ModelRiverError('destroyed', 'the service was torn down with its injector');
    if (this.owned === null) this.init(this.defaults ?? {});
    return this.owned;
  }

  private closeClient(): void {
    this.unsubscribe?.();
    this.unsubscribe = null;
    // A request still streaming stays persisted: a reload, or the next client, resumes it.
    this.owned?.destroy({ keepPending: true });
    this.owned = null;
  }

  private apply(state: StreamState): void {
    this.current.set(state);
    push(this.connectionStateSubject, state.connectionState);
    push(this.stepsSubject, state.steps);
    push(this.responseSubject, state.response);
    push(this.errorSubject, state.error);
    push(this.hasPendingRequestSubject, state.hasPendingRequest);
  }
}
