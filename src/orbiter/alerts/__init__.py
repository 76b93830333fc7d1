"""Alert rules evaluated on a schedule, their events, and webhook, email and in-app actions."""
