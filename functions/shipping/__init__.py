"""Shipping service: schedules shipments for the order saga (SQS + task token)."""
