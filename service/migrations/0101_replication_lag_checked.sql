-- When the consumer last learned each partition's end offset from the brokers (a fetch
-- response or an end-offsets request). high_watermark, and so the offset lag, is only as
-- fresh as this: a node cut off from the brokers keeps an old high_watermark, and its lag
-- read 0 throughout a partition in a chaos drill. freshness.per_origin reports the age.
ALTER TABLE consumer_offsets ADD COLUMN high_watermark_checked_at timestamptz;
