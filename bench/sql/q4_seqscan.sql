-- Q4's baseline: the same search (name, organisation, externalId or a
-- handle contains the text, case-insensitively) as ILIKE over sequential
-- scans, index scans switched off.
\set n random(1, 10)
SET enable_indexscan = off;
SET enable_bitmapscan = off;
SELECT id, display_name, sort_name, avatar_url, title, timezone, gender, locale, organization_name, description, contact_type, is_spammer, external_id, links, address_organization_name, address_line1, address_line2, address_postcode, address_city, address_state, address_country, created_at, updated_at FROM contacts WHERE display_name ILIKE (ARRAY['%ller%', '%anse%', '%olsen%', '%kumar%', '%yamam%', '%rossi%', '%ana %', '%mart%', '%ito%', '%zieg%'])[:n] OR organization_name ILIKE (ARRAY['%ller%', '%anse%', '%olsen%', '%kumar%', '%yamam%', '%rossi%', '%ana %', '%mart%', '%ito%', '%zieg%'])[:n]
  OR external_id ILIKE (ARRAY['%ller%', '%anse%', '%olsen%', '%kumar%', '%yamam%', '%rossi%', '%ana %', '%mart%', '%ito%', '%zieg%'])[:n]
  OR id IN (SELECT contact_id FROM contact_handles WHERE handle ILIKE (ARRAY['%ller%', '%anse%', '%olsen%', '%kumar%', '%yamam%', '%rossi%', '%ana %', '%mart%', '%ito%', '%zieg%'])[:n])
ORDER BY created_at, id LIMIT 21;
