"""Operations monitoring: token and cost totals from the runs' traces."""
