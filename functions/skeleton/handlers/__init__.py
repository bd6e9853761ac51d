"""Lambda entry points: parse the event, call one logic function, shape the result."""
