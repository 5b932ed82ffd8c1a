/** The snapshot debouncer: trailing delay, a cap so a steady trickle cannot starve it, flush and cancel. */
import { debounce } from '../../../control-plane/sources/debounce';

beforeEach(() => jest.useFakeTimers());
afterEach(() => jest.useRealTimers());

test('a burst becomes one run after the quiet time', () => {
  const run = jest.fn();
  const d = debounce(run, 50);
  for (let i = 0; i < 5; i++) {
    d.trigger();
    jest.advanceTimersByTime(10);
  }
  expect(run).not.toHaveBeenCalled();
  jest.advanceTimersByTime(50);
  expect(run).toHaveBeenCalledTimes(1);
});

test('events every 40 ms (never 50 ms quiet) still run by the max wait', () => {
  const run = jest.fn();
  const d = debounce(run, 50, 200);
  for (let i = 0; i < 6; i++) {
    d.trigger();
    jest.advanceTimersByTime(40);
  }
  expect(run).toHaveBeenCalledTimes(1); // at 200 ms
});

test('flush runs a pending run now; cancel drops it', () => {
  const run = jest.fn();
  const d = debounce(run, 50);
  d.flush();
  expect(run).not.toHaveBeenCalled();
  d.trigger();
  d.flush();
  expect(run).toHaveBeenCalledTimes(1);
  d.trigger();
  d.cancel();
  jest.advanceTimersByTime(1000);
  expect(run).toHaveBeenCalledTimes(1);
});
