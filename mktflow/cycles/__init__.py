"""The recurring management cycles: plan balance, handoff ledger, research, reviews, appraisal."""
