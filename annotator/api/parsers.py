"""JSON bodies that cannot be parsed are a 400, whatever is wrong with them."""

from rest_framework import parsers
from rest_framework.exceptions import ParseError


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:  # json raises this, not ValueError, on deep nesting
            raise ParseError("JSON parse error - nested too deeply") from None
