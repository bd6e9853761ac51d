"""Notifications service: tells customers about their orders' outcomes and keeps an audit
trail, fed by the order-outcomes SNS topic through SQS."""
