'use strict';
// reviews: GET /reviews/<id>. VERSION names the version; with STARS=true it asks ratings for stars.
const { get, serve, forwarded } = require('./lib');

const VERSION = process.env.VERSION || 'v1';
const RATINGS = process.env.RATINGS_URL || 'http://ratings:9080';

serve(`reviews-${VERSION}`, async (url, headers) => {
  const m = /^\/reviews\/(\d+)$/.exec(url.pathname);
  if (!m) return { status: 404, body: { error: 'not found' } };
  const reviews = [
    { reviewer: 'Reviewer1', text: 'An extremely entertaining play by Shakespeare.' },
    { reviewer: 'Reviewer2', text: 'Absolutely fun and entertaining.' },
  ];
  if (process.env.STARS === 'true') {
    const r = await get(`${RATINGS}/ratings/${m[1]}`, forwarded(headers));
    for (const rev of reviews) rev.stars = r.status === 200 ? r.body.ratings[rev.reviewer] : `ratings unavailable (${r.status}${r.error ? ` ${r.error}` : ''})`;
  }
  return { body: { id: Number(m[1]), version: VERSION, reviews } };
});
