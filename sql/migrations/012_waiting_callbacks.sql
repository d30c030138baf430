-- The callbacks waiting behind their group's head, by bet: what a worker reads to send a bet's
-- next callback the moment its head is done. Small (only waiting rows), and an exact match for
-- that lookup, so it is used whatever the statistics of a young table say (the planner used
-- to combine the bet's index with the large index of open callbacks, scanning all of them).
CREATE INDEX callbacks_waiting ON callbacks (bet_id, id) WHERE state = 'waiting';
