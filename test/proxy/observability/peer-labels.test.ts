/**
 * The standard labels' sources: the `weft-source` claim of an mTLS peer, bounded per calling
 * identity so one caller cannot use up the label budget of the others; plaintext callers are unknown.
 */
import { destinationOf, MAX_SOURCES_PER_ACCOUNT, sourceOf, UNKNOWN } from '../../../proxy/observability/peer-labels';

const id = (sa: string) => `spiffe://shop.local/ns/shop/sa/${sa}`;

test('an mTLS peer\'s weft-source names its service and version; a plaintext caller is unknown whatever it sends', () => {
  expect(sourceOf('productpage/v1', id('productpage'))).toEqual({ service: 'productpage', version: 'v1' });
  expect(sourceOf('productpage/v1', undefined)).toEqual({ service: UNKNOWN, version: UNKNOWN });
  expect(sourceOf(undefined, id('details'))).toEqual({ service: 'details', version: UNKNOWN });
});

test('malformed values fall back to the certificate\'s account and are not remembered', () => {
  for (const bad of ['', 'x', 'UPPER/v1', 'a/b/c', '../v1', 'a/' + 'v'.repeat(64)]) expect(sourceOf(bad, id('web'))).toEqual({ service: 'web', version: UNKNOWN });
});

test('one caller flooding distinct values exhausts only its own budget: another caller keeps its labels', () => {
  for (let i = 0; i < 300; i++) sourceOf(`junk${i}/v${i}`, id('noisy'));
  expect(sourceOf(`junk${MAX_SOURCES_PER_ACCOUNT + 1000}/v1`, id('noisy'))).toEqual({ service: 'noisy', version: 'other' });
  expect(sourceOf('reviews/v2', id('reviews'))).toEqual({ service: 'reviews', version: 'v2' });
});

test('the destination comes from the cluster name the control plane made', () => {
  expect(destinationOf('reviews.shop|v2:9080')).toEqual({ service: 'reviews', version: 'v2' });
  expect(destinationOf(undefined)).toEqual({ service: UNKNOWN, version: UNKNOWN });
});
