-- Issue 13, item 10 (visits). Assigned number: 0016 (named 0010 on this branch because the
-- loader wants 1..N without gaps; renumber at merge).
-- 专家服务联络: which of the expert service groups the visit put the household in touch with
-- (grain 粮油, vegetables 蔬菜, fruit 果树, livestock 畜牧, forestry 林水); NULL when the visit
-- had no 专家服务联络 role (or was stored before this question existed).
ALTER TABLE visits ADD COLUMN expert_field TEXT
    CHECK (expert_field IS NULL OR expert_field IN ('grain', 'vegetables', 'fruit', 'livestock', 'forestry'));
-- Closing a follow-up records the call-back (回访: was the household called back / seen again
-- about it) and whether the household is satisfied; NULL: not asked (older closings).
ALTER TABLE followups ADD COLUMN called_back INTEGER CHECK (called_back IS NULL OR called_back IN (0, 1));
ALTER TABLE followups ADD COLUMN satisfied INTEGER CHECK (satisfied IS NULL OR satisfied IN (0, 1));
