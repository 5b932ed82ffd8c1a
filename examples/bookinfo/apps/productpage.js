'use strict';
// productpage: GET /productpage?id=<n> → details and reviews of a book, fetched through the mesh.
const { get, serve, forwarded } = require('./lib');

const DETAILS = process.env.DETAILS_URL || 'http://details:9080';
const REVIEWS = process.env.REVIEWS_URL || 'http://reviews:9080';

serve('productpage', async (url, headers) => {
  if (url.pathname !== '/productpage' && url.pathname !== '/') return { status: 404, body: { error: 'not found' } };
  const id = Number(url.searchParams.get('id') || 0);
  const fwd = forwarded(headers);
  const [details, reviews] = await Promise.all([get(`${DETAILS}/details/${id}`, fwd), get(`${REVIEWS}/reviews/${id}`, fwd)]);
  const status = details.status === 200 && reviews.status === 200 ? 200 : 502;
  return { status, body: { id, details: details.body, reviews: reviews.body } };
});
