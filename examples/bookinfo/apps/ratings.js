'use strict';
// ratings: GET /ratings/<id> → { id, ratings: { reviewer: stars } }.
const { serve } = require('./lib');

serve('ratings', (url) => {
  const m = /^\/ratings\/(\d+)$/.exec(url.pathname);
  if (!m) return { status: 404, body: { error: 'not found' } };
  return { body: { id: Number(m[1]), ratings: { Reviewer1: 5, Reviewer2: 4 } } };
});
