-- Placeholder so that the numbers stay contiguous on this branch: another branch adds the real
-- 0008. Drop this file when that one lands.
SELECT 1;
