/** watchStat when the watched `weft up` goes away: its coded error reaches onError once, no unhandled rejection. */
import { WeftError } from '../../../api/errors';
import { watchStat } from '../../../cli/up/stat';

test('a targets() that throws (run.json gone) ends the watch through onError, once', async () => {
  let calls = 0;
  const errors: unknown[] = [];
  await new Promise<void>((resolve) => {
    watchStat(() => { calls++; throw new WeftError('WEFT_ERR_UP_NOT_RUNNING', 'no weft up'); }, () => undefined, 1, (e) => { errors.push(e); resolve(); });
  });
  await new Promise((r) => setImmediate(r));
  expect(errors).toHaveLength(1);
  expect((errors[0] as WeftError).code).toBe('WEFT_ERR_UP_NOT_RUNNING');
  expect(calls).toBe(1);
});
