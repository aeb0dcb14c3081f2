-- reserved while the feature is being built; replaced before landing
SELECT 1;
