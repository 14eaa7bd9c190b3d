"""The business the processes work on: plans, budgets, KPIs, campaigns, products, orders."""
