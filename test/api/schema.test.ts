import { s, check, problemsOf } from '../../api/schema';
import { InvalidConfigError } from '../../api/errors';

const schema = s.object({
  name: s.string({ pattern: /^[a-z]+$/, patternName: 'lower-case letters' }),
  count: s.optional(s.integer({ minimum: 0, maximum: 3 })),
  tags: s.optional(s.array(s.enumOf(['a', 'b'] as const))),
});

test('a valid value passes and comes back typed', () => {
  const v = check(schema, { name: 'abc', count: 2, tags: ['a'] }, 'thing');
  expect(v.name).toBe('abc');
});

test('every problem is listed, with its path', () => {
  const problems = problemsOf(schema, { name: 'ABC', count: 9, tags: ['c'], extra: 1 });
  expect(problems).toEqual(expect.arrayContaining([
    expect.stringContaining('$: unknown field "extra"'),
    expect.stringContaining('$.name: "ABC" is not lower-case letters'),
    expect.stringContaining('$.count: 9 is above the maximum 3'),
    expect.stringContaining('$.tags[0]: "c" is not one of a, b'),
  ]));
  expect(problems).toHaveLength(4);
});

test('missing required fields are reported and check throws a coded error', () => {
  expect(() => check(schema, {}, 'thing')).toThrow(InvalidConfigError);
  try { check(schema, {}, 'thing'); } catch (e) { expect((e as InvalidConfigError).code).toBe('WEFT_ERR_INVALID_CONFIG'); }
});

test('the OpenAPI form is structural: required lists only non-optional fields', () => {
  const o = schema.toOpenApi();
  expect(o.type).toBe('object');
  expect(o.required).toEqual(['name']);
  expect(o.properties?.tags).toEqual({ type: 'array', items: { type: 'string', enum: ['a', 'b'] } });
});
