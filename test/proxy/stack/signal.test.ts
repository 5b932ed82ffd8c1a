/** RequestAbort: the per-request downstream signal behaves like an AbortSignal for its users. */
import { RequestAbort } from '../../../proxy/stack/signal';

test('abort fires listeners once, in order, and sets aborted/reason', () => {
  const a = new RequestAbort();
  const calls: string[] = [];
  a.signal.addEventListener('abort', () => calls.push('one'), { once: true });
  a.signal.addEventListener('abort', () => calls.push('two'));
  expect(a.signal.aborted).toBe(false);
  const why = new Error('downstream closed');
  a.abort(why);
  a.abort(new Error('again'));
  expect(calls).toEqual(['one', 'two']);
  expect(a.signal.aborted).toBe(true);
  expect(a.signal.reason).toBe(why);
  expect(() => a.signal.throwIfAborted()).toThrow('downstream closed');
});

test('removed listeners are not called; listeners added after abort are not called', () => {
  const a = new RequestAbort();
  const fn = jest.fn();
  a.signal.addEventListener('abort', fn);
  a.signal.removeEventListener('abort', fn);
  a.abort();
  const late = jest.fn();
  a.signal.addEventListener('abort', late);
  expect(fn).not.toHaveBeenCalled();
  expect(late).not.toHaveBeenCalled();
  expect(a.signal.reason).toBeInstanceOf(Error);
});
