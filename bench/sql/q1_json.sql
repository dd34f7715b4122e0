-- Q1 as one statement that returns the document's JSON (the shape of SQL a
-- GraphQL-to-SQL compiler such as PostGraphile sends): the page of 50 with
-- each contact's handles, and whether there is a next page.
SELECT json_build_object(
  'nodes', (SELECT coalesce(json_agg(json_build_object('id', c.id, 'displayName', c.display_name, 'via',
              (SELECT coalesce(json_agg(json_build_object('source', h.source, 'handle', h.handle) ORDER BY h.position), '[]')
                 FROM contact_handles h WHERE h.contact_id = c.id)) ORDER BY c.created_at, c.id), '[]')
            FROM (SELECT id, display_name, created_at FROM contacts ORDER BY created_at, id LIMIT 50) c),
  'hasNextPage', (SELECT count(*) > 50 FROM (SELECT 1 FROM contacts ORDER BY created_at, id LIMIT 51) n));
