-- The 5-hour and weekly utilization a session's CLI last reported for the account (JSON of
-- cockpit_crds::PlanUtilization), from the CLI's status line.
ALTER TABLE accounts ADD COLUMN utilization TEXT;
-- When that report was observed (unix ms): an older report never replaces a newer one.
ALTER TABLE accounts ADD COLUMN utilization_at INTEGER;
