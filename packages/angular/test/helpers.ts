/**
 * Shared set-up of the Angular tests: Angular's test platform (JIT, zoneless), a FakeGateway on
 * 127.0.0.1 (port 0), client options wired to it with `ws`, memory storage, a frame clock the
 * test advances, and waits on events, never on wall-clock sleeps.
 */
import '@angular/compiler';
import { provideZonelessChangeDetection } from '@angular/core';
import type { Provider, EnvironmentProviders } from '@angular/core';
import { TestBed } from '@angular/core/testing';
import { BrowserTestingModule, platformBrowserTesting } from '@angular/platform-browser/testing';
import { afterEach } from 'vitest';
import type { ModelRiverServiceOptions } from '@modelriver/angular';
import { clientOptions } from '@modelriver/test-utils/bindings';

TestBed.initTestEnvironment(BrowserTestingModule, platformBrowserTesting());

// Hooks run last-registered first: the Angular module (and its services) goes before the
// gateway, which the shared harness closes after each test.
afterEach(() => {
  // A service created with the defaults persists to jsdom's localStorage: no test inherits it.
  globalThis.localStorage?.clear();
});
afterEach(() => TestBed.resetTestingModule());

export { autoFrames, manualFrames, RecordingTimers, snakeAck, spyStorage, startGateway } from '@modelriver/test-utils/bindings';

/** Configures TestBed zoneless with `providers`. */
export function configure(...providers: Array<Provider | EnvironmentProviders>): void {
  TestBed.configureTestingModule({ providers: [provideZonelessChangeDetection(), ...providers] });
}

/** Service options for tests: `ws`, no page lifecycle, fast retries, memory storage unless given. */
export function serviceOptions(extra: ModelRiverServiceOptions = {}): ModelRiverServiceOptions {
  return clientOptions(extra);
}
