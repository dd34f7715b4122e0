-- Q3 as contacts-api sends it: the page after a cursor (created_at, id)
-- deep in the table, then the handles of its 50 contacts.
SELECT id, display_name, sort_name, avatar_url, title, timezone, gender, locale, organization_name, description, contact_type, is_spammer, external_id, links, address_organization_name, address_line1, address_line2, address_postcode, address_city, address_state, address_country, created_at, updated_at FROM contacts WHERE (created_at, id) > (:after_at::timestamptz, :after_id::uuid) ORDER BY created_at, id LIMIT 51;
SELECT id, contact_id, source, handle, search_key, position FROM contact_handles WHERE contact_id = ANY (:page_ids::uuid[]) ORDER BY contact_id, position;
