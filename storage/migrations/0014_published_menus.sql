-- The command menu last published to each person's private chat (a digest of its commands and
-- language), so that a start-up publishes only the menus that changed: a province has about
-- 1,700 admins, and setMyCommands for each of them would hold every start for a minute.
CREATE TABLE published_menus (
    telegram_id INTEGER PRIMARY KEY,
    digest TEXT NOT NULL
);
