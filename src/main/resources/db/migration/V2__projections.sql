-- The read side: one checkpoint per projection, the dead letters, and the read models the API serves.
-- A projection commits its read-model change and its new checkpoint in one transaction, so a crash or a replay
-- never applies an event twice. Read-model tables are disposable: a rebuild truncates them and replays the store.

CREATE TABLE projection_checkpoints (
  name              text        PRIMARY KEY,
  -- the advisory lock (key pair 1178861570, lock_id) that makes one process at a time run this projection
  lock_id           integer     GENERATED ALWAYS AS IDENTITY UNIQUE,
  -- every event up to this position has been applied (or dead-lettered)
  position          bigint      NOT NULL DEFAULT 0 CHECK (position >= 0),
  -- set by a rebuild: the store head when it was asked for; the projection is rebuilding until it gets there
  rebuild_target    bigint,
  rebuild_started   timestamptz,
  -- the process running it (host:pid), for operators
  owner             text,
  -- an apply that keeps failing: what went wrong and since when (cleared on the next success)
  last_error        text,
  failing_since     timestamptz,
  updated_at        timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE dead_letters (
  id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  projection  text        NOT NULL REFERENCES projection_checkpoints (name),
  position    bigint      NOT NULL,
  event_id    uuid        NOT NULL,
  error       text        NOT NULL,
  attempts    integer     NOT NULL CHECK (attempts >= 1),
  failed_at   timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT dead_letters_projection_position_key UNIQUE (projection, position)
);

-- visitor_activity: one row per stream (visitor)
CREATE TABLE visitor_activity (
  stream_id        text        PRIMARY KEY,
  site             text,
  first_seen       timestamptz NOT NULL,
  last_seen        timestamptz NOT NULL,
  page_views       bigint      NOT NULL DEFAULT 0,
  button_clicks    bigint      NOT NULL DEFAULT 0,
  form_submissions bigint      NOT NULL DEFAULT 0,
  last_page        text,
  -- the stream's last applied event
  last_position    bigint      NOT NULL
);

-- page_stats: views and unique visitors per site, page and (UTC) day of the view
CREATE TABLE page_stats (
  site            text   NOT NULL,
  page_id         text   NOT NULL,
  day             date   NOT NULL,
  views           bigint NOT NULL,
  unique_visitors bigint NOT NULL,
  PRIMARY KEY (site, day, page_id)
);

-- the visitors already counted for a page and day (what makes unique_visitors exact)
CREATE TABLE page_visitors (
  site      text NOT NULL,
  page_id   text NOT NULL,
  day       date NOT NULL,
  stream_id text NOT NULL,
  PRIMARY KEY (site, day, page_id, stream_id)
);

-- form_submissions: one row per FormSubmitted event, read newest first per form
CREATE TABLE form_submissions (
  form_id      text        NOT NULL,
  position     bigint      NOT NULL,
  event_id     uuid        NOT NULL,
  stream_id    text        NOT NULL,
  site         text,
  fields       jsonb       NOT NULL,
  submitted_at timestamptz NOT NULL,
  PRIMARY KEY (form_id, position)
);

-- event_counts: events per type per minute of recording (server time)
CREATE TABLE event_counts (
  minute timestamptz NOT NULL,
  type   text        NOT NULL,
  count  bigint      NOT NULL,
  PRIMARY KEY (minute, type)
);
