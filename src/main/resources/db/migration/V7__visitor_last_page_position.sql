-- visitor_activity.last_page is the page of the visitor's last page view in stream order. Its upsert moved it only
-- when the incoming page view came after last_position, the visitor's last applied event of any type: a page view
-- set aside as a dead letter and retried after a later click or form submission of the same visitor never became
-- the last page, although no later page view existed (and GET /v1/visitors/{id}?at=, which folds the store, said
-- otherwise). last_page_position is the position of the page view last_page comes from, which the upsert now
-- compares against.
-- Rows written before this migration have none (NULL); their upsert falls back to last_position, the old rule, and
-- a rebuild fills it in. Adding a nullable column without a default rewrites nothing.
ALTER TABLE visitor_activity ADD COLUMN last_page_position bigint;
