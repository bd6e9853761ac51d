"""The skeleton service: one small but real example of every path orderflow relies on.

Layers, outermost first: ``handlers`` (Lambda entry points, thin), ``logic`` (rules),
``dal`` (DynamoDB access); ``models`` holds the pydantic models they exchange.
"""
