"""The greeting of the greeting workflow."""

from skeleton.models import Greeting, GreetRequest


def greet(request: GreetRequest) -> Greeting:
    return Greeting(greeting=f"hello {request.name}")
