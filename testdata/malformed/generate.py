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
    # Giants and limits (issue 7): sizes, depths and lengths well past what a click needs.
    ("deep-nesting-100k", "OVERSIZE", "100 000 nested arrays in an unknown field (200 KB)",
     rec(',"x":' + "[" * 100000 + "]" * 100000)),
    ("deep-nesting-30k", "MALFORMED_JSON", "30 000 nested arrays, under the size limit",
     rec(',"x":' + "[" * 30000 + "]" * 30000)),
    ("nesting-over-limit", "MALFORMED_JSON", "65 levels: the object and 64 nested arrays",
     rec(',"x":' + "[" * 64 + "]" * 64)),
    ("nesting-at-limit", "VALID", "64 levels: the object and 63 nested arrays",
     rec(',"x":' + "[" * 63 + "]" * 63)),
    ("record-10mb", "OVERSIZE", "a valid event padded to 10 MiB", padded_to(10 << 20)),
    ("user-10k-chars", "INVALID_FIELD", "user_id of 10 000 characters",
     rec(user_id='"' + "u" * 10000 + '"')),
    ("user-256-chars", "VALID", "user_id of exactly 256 characters", rec(user_id='"' + "u" * 256 + '"')),
    ("user-257-chars", "INVALID_FIELD", "user_id of 257 characters", rec(user_id='"' + "u" * 257 + '"')),
    ("user-256-emoji", "VALID", "user_id of 256 emoji (512 UTF-16 units, 1 024 bytes)",
     rec(user_id='"' + "\U0001F600" * 256 + '"')),
    ("user-nul", "INVALID_FIELD", "user_id holds an escaped NUL (U+0000)", rec(user_id='"u\\u00001"')),
    ("user-del", "INVALID_FIELD", "user_id holds DEL (U+007F)", rec(user_id='"u\\u007f1"')),
    ("user-c1-control", "INVALID_FIELD", "user_id holds the C1 control NEL (U+0085)",
     rec(user_id='"u\\u00851"')),
    ("user-newline-escaped", "INVALID_FIELD", "user_id holds an escaped newline",
     rec(user_id='"u\\n1"')),
    ("user-raw-tab", "MALFORMED_JSON", "user_id holds an unescaped tab", rec(user_id='"u\t1"')),
    ("user-lone-surrogate", "INVALID_FIELD", "user_id holds an escaped lone surrogate \\ud800",
     rec(user_id='"u\\ud8001"')),
    ("event-id-257-chars", "INVALID_FIELD", "event_id of 257 characters",
     rec(event_id='"' + "e" * 257 + '"')),
    ("nul-byte-raw", "MALFORMED_JSON", "a raw NUL byte inside a string", rec(page_url='"/a\x00b"')),
    ("utf16le-bom", "MALFORMED_JSON", "UTF-16LE with its byte-order mark",
     b"\xff\xfe" + rec().decode().encode("utf-16-le")),
    ("bom-only", "MALFORMED_JSON", "only a UTF-8 byte-order mark", b"\xef\xbb\xbf"),
    ("duplicate-key-same-value", "MALFORMED_JSON", "user_id given twice with the same value",
     rec(',"user_id":"u1"')),
    ("duplicate-key-nested", "MALFORMED_JSON", "metadata.amount given twice",
     rec(event_type='"purchase"', metadata='{"amount":"1.00","amount":"2.00"}')),
    ("nan-nested", "MALFORMED_JSON", "NaN inside an unknown field", rec(',"x":{"y":[NaN]}')),
    ("negative-infinity", "MALFORMED_JSON", "-Infinity as the timestamp", rec(timestamp="-Infinity")),
    ("number-101-digits", "MALFORMED_JSON", "an unknown field with a 101-digit number",
     rec(',"x":' + "1" * 101)),
    ("timestamp-year-9999-millis", "FUTURE_TIMESTAMP", "epoch millis of 9999-12-31T23:59:59.999Z",
     rec(timestamp="253402300799999")),
    ("timestamp-max-long", "FUTURE_TIMESTAMP", "epoch millis 9223372036854775807",
     rec(timestamp="9223372036854775807")),
    ("timestamp-year-10000", "FUTURE_TIMESTAMP", "year +10000 (expanded ISO year)",
     rec(timestamp='"+10000-01-01T00:00:00Z"')),
    ("timestamp-year-minus-1", "INVALID_FIELD", "year -0001", rec(timestamp='"-0001-01-01T00:00:00Z"')),
    ("timestamp-leap-second", "INVALID_FIELD", "a leap second 23:59:60",
     rec(timestamp='"2026-06-30T23:59:60Z"')),
    ("timestamp-offset-24h", "INVALID_FIELD", "offset +24:00 (beyond +18:00)",
     rec(timestamp='"2026-11-24T10:00:00+24:00"')),
    ("timestamp-exponent", "INVALID_FIELD", "epoch millis written with an exponent",
     rec(timestamp="1.7955144E12")),
    ("timestamp-epoch-zero", "VALID", "epoch millis 0 (1970-01-01)", rec(timestamp="0")),
    ("amount-30-decimals-string", "INVALID_FIELD", "amount string with 30 decimal places",
     rec(event_type='"purchase"', metadata='{"amount":"1.000000000000000000000000000001"}')),
    ("amount-trailing-zeros", "VALID", "amount 1.500000000000000000000000000000 (exactly 1.50)",
     rec(event_type='"purchase"', metadata='{"amount":1.500000000000000000000000000000}')),
    ("amount-exponent", "VALID", "amount 1e2 (100.00)", rec(event_type='"purchase"', metadata='{"amount":1e2}')),
    ("amount-negative-zero", "VALID", "amount -0.00", rec(event_type='"purchase"', metadata='{"amount":"-0.00"}')),
    ("amount-max", "VALID", "amount 9999999999999999.99, the decimal(18,2) maximum",
     rec(event_type='"purchase"', metadata='{"amount":"9999999999999999.99"}')),
    ("amount-over-max", "INVALID_FIELD", "amount 10000000000000000.00",
     rec(event_type='"purchase"', metadata='{"amount":"10000000000000000.00"}')),
    ("amount-infinity-string", "INVALID_FIELD", "amount 'Infinity' as a string",
     rec(event_type='"purchase"', metadata='{"amount":"Infinity"}')),
    ("amount-hex-string", "INVALID_FIELD", "amount '0x10'",
     rec(event_type='"purchase"', metadata='{"amount":"0x10"}')),
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
