'use strict';
// details: GET /details/<id> → facts about the book.
const { serve } = require('./lib');

serve('details', (url) => {
  const m = /^\/details\/(\d+)$/.exec(url.pathname);
  if (!m) return { status: 404, body: { error: 'not found' } };
  return { body: { id: Number(m[1]), author: 'William Shakespeare', year: 1595, type: 'paperback', pages: 200, publisher: 'PublisherA', language: 'English' } };
});
