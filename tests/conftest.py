# The fixture notebooks are test data for the curriculum check, not course notebooks.
collect_ignore_glob = ["fixtures/*"]
