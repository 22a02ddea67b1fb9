/**
 * The React tests' set-up: the bindings' shared harness (`@modelriver/test-utils/bindings`:
 * a FakeGateway on 127.0.0.1 closed after each test, client options wired to it, a frame clock
 * the test advances, recording storage and timers).
 */
export {
  autoFrames,
  clientOptions,
  manualFrames,
  RecordingTimers,
  snakeAck,
  spyStorage,
  startGateway,
} from '@modelriver/test-utils/bindings';
