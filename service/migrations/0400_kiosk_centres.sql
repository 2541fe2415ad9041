-- Kiosks (issue 13): the evacuation centre a kiosk stands in, named in audit records of
-- what the kiosk did for its resident ("kiosk:<id>@<centre>"). Older rows use the name.
ALTER TABLE kiosk_devices ADD COLUMN centre text;
