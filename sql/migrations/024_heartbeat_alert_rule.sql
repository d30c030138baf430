-- An alert rule kind for a brand whose heartbeats fail:
--   heartbeat_failure_rate  threshold: percent of the heartbeats finished over window_s that
--                           did not keep their session alive (failed, no answer, or refused
--                           for another reason than the platform not knowing the session)
ALTER TABLE alert_rules DROP CONSTRAINT alert_rules_kind_check;
ALTER TABLE alert_rules ADD CONSTRAINT alert_rules_kind_check
    CHECK (kind IN ('failure_rate', 'oldest_pending', 'exhausted', 'money_at_risk',
                    'heartbeat_failure_rate'));
