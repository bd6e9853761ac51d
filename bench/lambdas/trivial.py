"""The trivial handler the Lambda benchmark invokes."""


def handler(event, context):
    return {"echo": event.get("n")}
