/** The program itself, given an invalid stack config, fails with the constructs' code and registers nothing. */
import { installMocks } from '../../stacks/mocks';

test('importing the program with replicas < 0 throws WEFT_ERR_INVALID_PROP and newResource is never called', async () => {
  // GIVEN a stack whose config asks for -2 reviews-v1 replicas
  const mocks = await installMocks({ project: 'weft', stack: 'bad', config: { 'weft:replicas': '{"reviews-v1": -2}' } });
  // WHEN the program runs (imported after the mocks are set)
  const failure = await import('../../stacks/index').then(() => undefined, (e: { code?: string; path?: string }) => e);
  await mocks.settle();
  // THEN it fails with the construct's code, naming the construct, and nothing was registered
  expect(failure?.code).toBe('WEFT_ERR_INVALID_PROP');
  expect(failure?.path).toBe('bookinfo/reviews');
  expect(mocks.newResourceCalls).toEqual([]);
  expect(mocks.registrations).toEqual([]);
});
