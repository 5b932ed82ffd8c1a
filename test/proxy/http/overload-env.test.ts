/** proxy/http/overload.ts: the event-loop-delay threshold from WEFT_OVERLOAD_MAX_EVENT_LOOP_DELAY_MS. */
import { overloadOptionsFromEnv } from '../../../proxy/http/overload';

test('unset or empty keeps the default; a positive number replaces it; anything else is WEFT_ERR_OVERLOAD_ENV', () => {
  expect(overloadOptionsFromEnv({})).toEqual({});
  expect(overloadOptionsFromEnv({ WEFT_OVERLOAD_MAX_EVENT_LOOP_DELAY_MS: '' })).toEqual({});
  expect(overloadOptionsFromEnv({ WEFT_OVERLOAD_MAX_EVENT_LOOP_DELAY_MS: '600000' })).toEqual({ maxEventLoopDelayMs: 600_000 });
  for (const bad of ['0', '-5', 'fast', 'Infinity']) {
    expect(() => overloadOptionsFromEnv({ WEFT_OVERLOAD_MAX_EVENT_LOOP_DELAY_MS: bad })).toThrow(expect.objectContaining({ code: 'WEFT_ERR_OVERLOAD_ENV' }));
  }
});
