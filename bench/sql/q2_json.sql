-- Q2 as one statement returning the document's JSON: the contact with its
-- handles, metadata and conversations.
\set n random(1, :ids)
SELECT json_build_object('id', c.id, 'displayName', c.display_name,
  'via', (SELECT coalesce(json_agg(json_build_object('source', h.source, 'handle', h.handle) ORDER BY h.position), '[]')
            FROM contact_handles h WHERE h.contact_id = c.id),
  'metadata', (SELECT coalesce(json_object_agg(m.key, m.value), '{}') FROM contact_metadata m WHERE m.contact_id = c.id),
  'conversations', (SELECT coalesce(json_agg(json_build_object('id', v.id, 'channel', v.channel, 'createdAt', v.created_at)
                      ORDER BY v.created_at, v.id), '[]') FROM conversations v WHERE v.contact_id = c.id))
FROM contacts c WHERE c.id = (SELECT id FROM bench_ids WHERE n = :n);
