#!/usr/bin/env python3
"""Writes the malformed-input corpus: one file per case under cases/, and EXPECTED.tsv.

Each case is the exact bytes of one Kafka record value. EXPECTED.tsv lists, per case, the
outcome the spec requires (a dead-letter reason, or VALID for boundary cases that must pass)
and what the case is. Run it from this folder; the output is committed.
"""
import os

BASE = ('{"user_id":"u1","event_id":"e1","event_type":"page_view",'
        '"timestamp":"2026-11-24T10:00:00Z","page_url":"/home"')


def rec(extra='', **fields):
    """A record built from the valid base with fields replaced (value = raw JSON text)."""
    parts = {
        "user_id": '"u1"', "event_id": '"e1"', "event_type": '"page_view"',
        "timestamp": '"2026-11-24T10:00:00Z"', "page_url": '"/home"',
    }
    for k, v in fields.items():
        if v is None:
            parts.pop(k, None)
        else:
            parts[k] = v
    body = ",".join('"%s":%s' % (k, v) for k, v in parts.items())
    return ("{" + body + extra + "}").encode()


def padded_to(size):
    """A valid record of exactly `size` bytes (padding in an unknown field)."""
    head = rec(',"pad":"')[:-1]
    tail = b'"}'
    return head + b"x" * (size - len(head) - len(tail)) + tail


CASES = [
    # name, expected, description, bytes
    ("truncated", "MALFORMED_JSON", "JSON cut off mid-object", BASE[:60].encode()),
    ("empty", "MALFORMED_JSON", "zero-byte record", b""),
    ("whitespace", "MALFORMED_JSON", "only whitespace", b"  \n\t "),
    ("array", "MALFORMED_JSON", "a JSON array holding a valid event", b"[" + rec() + b"]"),
    ("string", "MALFORMED_JSON", "a JSON string", b'"page_view"'),
    ("number", "MALFORMED_JSON", "a JSON number", b"42"),
    ("json-null", "MALFORMED_JSON", "the JSON literal null", b"null"),
    ("trailing-garbage", "MALFORMED_JSON", "a valid object followed by text", rec() + b" xyz"),
    ("two-objects", "MALFORMED_JSON", "two objects in one record", rec() + rec()),
    ("single-quotes", "MALFORMED_JSON", "single-quoted strings", BASE.replace('"', "'").encode() + b"}"),
    ("unquoted-keys", "MALFORMED_JSON", "keys without quotes",
     b'{user_id:"u1",event_type:"page_view",timestamp:"2026-11-24T10:00:00Z"}'),
    ("trailing-comma", "MALFORMED_JSON", "a comma before the closing brace", rec(",")),
    ("comment", "MALFORMED_JSON", "a // comment", b"// event\n" + rec()),
    ("invalid-utf8", "MALFORMED_JSON", "byte 0xFF inside a string",
     rec(user_id='"u\xff1"'.encode("latin-1").decode("latin-1")).replace(b"\xc3\xbf", b"\xff")),
    ("overlong-utf8", "MALFORMED_JSON", "overlong encoding C0 AF of '/'",
     rec(page_url='"XX"').replace(b"XX", b"\xc0\xaf")),
    ("utf8-surrogate", "MALFORMED_JSON", "a UTF-16 surrogate encoded as UTF-8 (ED A0 80)",
     rec(page_url='"XX"').replace(b"XX", b"\xed\xa0\x80")),
    ("latin1", "MALFORMED_JSON", "Latin-1 text, not UTF-8 (e9 = e-acute)",
     rec(page_url='"/caf\xe9"'.encode("latin-1").decode("latin-1")).replace(b"\xc3\xa9", b"\xe9")),
    ("byte-order-mark", "MALFORMED_JSON", "UTF-8 byte-order mark before the object", b"\xef\xbb\xbf" + rec()),
    ("nan", "MALFORMED_JSON", "NaN as the timestamp", rec(timestamp="NaN")),
    ("infinity", "MALFORMED_JSON", "Infinity as an amount",
     rec(event_type='"purchase"', metadata='{"amount":Infinity}')),
    ("deep-nesting", "MALFORMED_JSON", "2 000 nested arrays in an unknown field",
     rec(',"x":' + "[" * 2000 + "]" * 2000)),
    ("duplicate-key", "MALFORMED_JSON", "user_id given twice with different values",
     rec(',"user_id":"u2"')),
    ("leading-zero", "MALFORMED_JSON", "a number with a leading zero", rec(timestamp="01764000000000")),
    ("control-char-raw", "MALFORMED_JSON", "an unescaped newline inside a string",
     rec(page_url='"/a\nb"')),
    ("oversize-valid", "OVERSIZE", "a valid event padded to 65 537 bytes", padded_to(65537)),
    ("oversize-garbage", "OVERSIZE", "70 000 bytes of 'x'", b"x" * 70000),
    ("missing-user", "MISSING_FIELD", "no user_id", rec(user_id=None)),
    ("null-user", "MISSING_FIELD", "user_id is null", rec(user_id="null")),
    ("missing-type", "MISSING_FIELD", "no event_type", rec(event_type=None)),
    ("missing-timestamp", "MISSING_FIELD", "no timestamp", rec(timestamp=None)),
    ("null-timestamp", "MISSING_FIELD", "timestamp is null", rec(timestamp="null")),
    ("empty-object", "MISSING_FIELD", "{}", b"{}"),
    ("user-number", "INVALID_FIELD", "user_id is a number", rec(user_id="12345")),
    ("user-empty", "INVALID_FIELD", "user_id is empty", rec(user_id='""')),
    ("user-too-long", "INVALID_FIELD", "user_id of 300 characters", rec(user_id='"' + "u" * 300 + '"')),
    ("user-control-char", "INVALID_FIELD", "user_id holds an escaped BEL (U+0007)",
     rec(user_id='"u\\u00071"')),
    ("type-number", "INVALID_FIELD", "event_type is a number", rec(event_type="7")),
    ("type-object", "INVALID_FIELD", "event_type is an object", rec(event_type='{"name":"click"}')),
    ("type-empty", "INVALID_FIELD", "event_type is empty", rec(event_type='""')),
    ("timestamp-boolean", "INVALID_FIELD", "timestamp is true", rec(timestamp="true")),
    ("timestamp-digit-string", "INVALID_FIELD", "epoch millis as a string",
     rec(timestamp='"1764000000000"')),
    ("timestamp-no-offset", "INVALID_FIELD", "ISO-8601 without an offset",
     rec(timestamp='"2026-11-24T10:00:00"')),
    ("timestamp-words", "INVALID_FIELD", "timestamp is 'yesterday'", rec(timestamp='"yesterday"')),
    ("timestamp-negative", "INVALID_FIELD", "negative epoch millis", rec(timestamp="-1000")),
    ("timestamp-year-0", "INVALID_FIELD", "year 0", rec(timestamp='"0000-01-01T00:00:00Z"')),
    ("timestamp-fraction", "INVALID_FIELD", "fractional epoch millis", rec(timestamp="1764000000000.5")),
    ("timestamp-huge-integer", "INVALID_FIELD", "an integer beyond 64 bits",
     rec(timestamp="100000000000000000000000000000")),
    ("timestamp-bad-date", "INVALID_FIELD", "February 30th", rec(timestamp='"2026-02-30T10:00:00Z"')),
    ("amount-abc", "INVALID_FIELD", "amount 'abc'",
     rec(event_type='"purchase"', metadata='{"amount":"abc"}')),
    ("amount-negative", "INVALID_FIELD", "amount -1",
     rec(event_type='"purchase"', metadata='{"amount":-1}')),
    ("amount-1e400", "INVALID_FIELD", "amount 1e400 (beyond a double)",
     rec(event_type='"purchase"', metadata='{"amount":1e400}')),
    ("amount-3-decimals", "INVALID_FIELD", "amount with 3 decimal places",
     rec(event_type='"purchase"', metadata='{"amount":"12.345"}')),
    ("amount-30-decimals", "INVALID_FIELD", "amount with 30 decimal places",
     rec(event_type='"purchase"', metadata='{"amount":0.123456789012345678901234567890}')),
    ("amount-boolean", "INVALID_FIELD", "amount true",
     rec(event_type='"purchase"', metadata='{"amount":true}')),
    ("amount-string-nan", "INVALID_FIELD", "amount 'NaN' as a string",
     rec(event_type='"purchase"', metadata='{"amount":"NaN"}')),
    ("metadata-string", "INVALID_FIELD", "metadata is a string", rec(metadata='"amount=5"')),
    ("device-string", "INVALID_FIELD", "device is a string, not an object", rec(device='"mobile"')),
    ("country-number", "INVALID_FIELD", "geo.country is a number", rec(geo='{"country":49}')),
    ("page-array", "INVALID_FIELD", "page_url is an array", rec(page_url='["/a","/b"]')),
    ("currency-words", "INVALID_FIELD", "currency 'US Dollars'",
     rec(event_type='"purchase"', metadata='{"amount":"5.00","currency":"US Dollars"}')),
    ("event-id-empty", "INVALID_FIELD", "event_id is empty", rec(event_id='""')),
    ("event-id-float", "INVALID_FIELD", "event_id is a fraction", rec(event_id="1.5")),
    ("future-2999", "FUTURE_TIMESTAMP", "year 2999", rec(timestamp='"2999-01-01T00:00:00Z"')),
    ("future-9999", "FUTURE_TIMESTAMP", "year 9999", rec(timestamp='"9999-12-31T23:59:59Z"')),
    ("future-epoch", "FUTURE_TIMESTAMP", "epoch millis in the year 5138", rec(timestamp="99999999999999")),
    ("valid-exactly-64k", "VALID", "a valid event of exactly 65 536 bytes", padded_to(65536)),
    ("valid-unknown-fields", "VALID", "unknown fields are ignored",
     rec(',"campaign":{"id":7,"tags":["a","b"]}')),
    ("valid-epoch-millis", "VALID", "timestamp as epoch millis", rec(timestamp="1795514400000")),
    ("valid-offset", "VALID", "timestamp with a +05:30 offset", rec(timestamp='"2026-11-24T15:30:00+05:30"')),
]


def main():
    os.makedirs("cases", exist_ok=True)
    for old in os.listdir("cases"):
        os.remove(os.path.join("cases", old))
    names = set()
    with open("EXPECTED.tsv", "w") as tsv:
        tsv.write("case\texpected\tdescription\n")
        for name, expected, description, data in CASES:
            assert name not in names, name
            names.add(name)
            with open(os.path.join("cases", name + ".json"), "wb") as f:
                f.write(data)
            tsv.write("%s\t%s\t%s\n" % (name, expected, description))
    print("%d cases" % len(CASES))


if __name__ == "__main__":
    main()
