-- Every attempt is written twice (as 'sending', then completed), and each write updates every
-- index of attempts. Two of them only repeated others:
-- attempts_started (started_at DESC, id DESC) is the primary key (started_at, id) read
-- backwards, which PostgreSQL does just as well;
-- attempts_sending (callback_id WHERE outcome = 'sending') served the sweeper, which looks up a
-- few callbacks' attempts by attempts_callback (callback_id) as fast.
DROP INDEX IF EXISTS attempts_started;
DROP INDEX IF EXISTS attempts_sending;
