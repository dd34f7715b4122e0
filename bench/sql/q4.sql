-- Q4 as contacts-api sends it on PostgreSQL: for each place the text may be
-- (name, organisation, externalId, a handle), the first 21 matches by
-- createdAt; the first 21 of their union. Same searches as wrk's.
\set n random(1, 10)
SELECT id, display_name, sort_name, avatar_url, title, timezone, gender, locale, organization_name, description, contact_type, is_spammer, external_id, links, address_organization_name, address_line1, address_line2, address_postcode, address_city, address_state, address_country, created_at, updated_at FROM contacts WHERE id IN (
  SELECT * FROM (SELECT contacts.id FROM contacts WHERE lower(display_name) LIKE (ARRAY['%ller%', '%anse%', '%olsen%', '%kumar%', '%yamam%', '%rossi%', '%ana %', '%mart%', '%ito%', '%zieg%'])[:n] ESCAPE '!' ORDER BY created_at, id LIMIT 21) m0
  UNION (SELECT * FROM (SELECT contacts.id FROM contacts WHERE lower(organization_name) LIKE (ARRAY['%ller%', '%anse%', '%olsen%', '%kumar%', '%yamam%', '%rossi%', '%ana %', '%mart%', '%ito%', '%zieg%'])[:n] ESCAPE '!' ORDER BY created_at, id LIMIT 21) m1)
  UNION (SELECT * FROM (SELECT contacts.id FROM contacts WHERE lower(external_id) LIKE (ARRAY['%ller%', '%anse%', '%olsen%', '%kumar%', '%yamam%', '%rossi%', '%ana %', '%mart%', '%ito%', '%zieg%'])[:n] ESCAPE '!' ORDER BY created_at, id LIMIT 21) m2)
  UNION (SELECT * FROM (SELECT contacts.id FROM contacts WHERE EXISTS (SELECT 1 FROM contact_handles
           WHERE search_key LIKE (ARRAY['%ller%', '%anse%', '%olsen%', '%kumar%', '%yamam%', '%rossi%', '%ana %', '%mart%', '%ito%', '%zieg%'])[:n] ESCAPE '!' AND contact_handles.contact_id = contacts.id) ORDER BY created_at, id LIMIT 21) m3))
ORDER BY created_at, id LIMIT 21;
