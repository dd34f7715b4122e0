-- Q5 as contacts-api sends it: the contact owning a phone handle (already
-- normalised to E.164), then its metadata, conversations and handles.
\set n random(1, :ids)
SELECT id, display_name, sort_name, avatar_url, title, timezone, gender, locale, organization_name, description, contact_type, is_spammer, external_id, links, address_organization_name, address_line1, address_line2, address_postcode, address_city, address_state, address_country, created_at, updated_at FROM contacts WHERE id IN (SELECT contact_id FROM contact_handles WHERE source = 'phone' AND handle = (SELECT phone FROM bench_ids WHERE n = :n)) LIMIT 1;
SELECT contact_id, key, value FROM contact_metadata WHERE contact_id = (SELECT id FROM bench_ids WHERE n = :n);
SELECT id, channel, contact_id, created_at FROM conversations WHERE contact_id = (SELECT id FROM bench_ids WHERE n = :n) ORDER BY created_at, id;
SELECT id, contact_id, source, handle, search_key, position FROM contact_handles WHERE contact_id = (SELECT id FROM bench_ids WHERE n = :n) ORDER BY contact_id, position;
